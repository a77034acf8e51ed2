import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';

import { auditSubject, decidable, inboxCountText } from '../format';
import { IPromotion } from '../modelsApi';
import { MetricChart, MetricsTable } from '../plots';
import { IMe } from '../../common/api';

const XSS = '<img src=x onerror=alert(1)>';

function count(html: string, pattern: RegExp): number {
  return (html.match(pattern) ?? []).length;
}

describe('MetricChart', () => {
  it('is an inline SVG with a point per step and a line through them', () => {
    const html = renderToStaticMarkup(
      React.createElement(MetricChart, {
        metric: 'loss',
        history: [
          { step: 0, value: 1 },
          { step: 1, value: 0 },
          { step: 2, value: 0.5 }
        ],
        width: 106,
        height: 26
      })
    );
    expect(html).toContain('<svg');
    expect(html).toContain('data-testid="nbp-metric-chart-plot"');
    expect(html).toContain('data-points="3"');
    expect(count(html, /<circle /g)).toBe(3);
    expect(html).toContain('d="M3 3 L53 23 L103 13"');
    expect(html).toContain('loss over 3 steps (0–2), from 0 to 1, last 0.5');
    expect(html).toContain('<title>step 1: 0</title>');
  });

  it('escapes the metric name and is nothing without values', () => {
    const html = renderToStaticMarkup(
      React.createElement(MetricChart, {
        metric: XSS,
        history: [{ step: 0, value: 1 }]
      })
    );
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(
      renderToStaticMarkup(
        React.createElement(MetricChart, { metric: 'm', history: [] })
      )
    ).toBe('');
  });
});

describe('MetricsTable', () => {
  it('is a row per metric, names escaped, the rest behind "more"', () => {
    const metrics: [string, number][] = [
      ['accuracy', 0.912345],
      [XSS, 1],
      ['c', 3],
      ['d', 4]
    ];
    const html = renderToStaticMarkup(
      React.createElement(MetricsTable, { metrics, limit: 3 })
    );
    expect(html).toContain('data-testid="nbp-metrics"');
    expect(count(html, /data-testid="nbp-metric"/g)).toBe(3);
    expect(html).toContain('>0.9123<');
    expect(html).not.toContain('<img');
    expect(html).toContain('+1 more');
    const empty = renderToStaticMarkup(
      React.createElement(MetricsTable, { metrics: [] })
    );
    expect(empty).toContain('no metrics logged');
  });
});

describe('the inbox', () => {
  const me = { name: 'ada' } as IMe;
  const promotion = (
    requested_by: string,
    may_approve: boolean,
    may_reject: boolean
  ): IPromotion => ({
    id: 1,
    model: 'churn',
    version: '1',
    alias: 'champion',
    state: 'pending',
    requested_by,
    requested_at: '2026-01-01T00:00:00Z',
    rights: { may_approve, may_reject, reason: null, deciders: 'admins' }
  });

  it('holds the requests the server lets the user decide', () => {
    expect(decidable(promotion('mona', true, true), me)).toBe(true);
    // four eyes: one's own request may only be withdrawn
    expect(decidable(promotion('ada', false, true), me)).toBe(false);
    expect(decidable(promotion('mona', false, false), me)).toBe(false);
    expect(
      decidable({ ...promotion('mona', true, true), rights: undefined }, me)
    ).toBe(false);
    expect(
      decidable({ ...promotion('mona', true, true), state: 'approved' }, me)
    ).toBe(false);
  });

  it('counts them in the header', () => {
    expect(inboxCountText(2, false)).toBe('2 to decide');
    expect(inboxCountText(100, true)).toBe('100+ to decide');
  });
});

describe('auditSubject', () => {
  it('names the model, version and alias, else the resource or path', () => {
    const entry = {
      id: 1,
      ts: '2026-01-01T00:00:00Z',
      user: 'ada',
      kind: 'user',
      action: 'promotion:approve',
      method: 'POST',
      path: '/services/platform/api/promotions/1/approve',
      result: 'allowed' as const,
      status: 200
    };
    expect(
      auditSubject({
        ...entry,
        model: 'churn',
        version: '3',
        alias: 'champion'
      })
    ).toBe('churn v3 @champion');
    expect(auditSubject({ ...entry, resource: 'promotion/1' })).toBe(
      'promotion/1'
    );
    expect(auditSubject(entry)).toBe(entry.path);
  });
});
