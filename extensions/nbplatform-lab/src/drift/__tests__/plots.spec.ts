import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';

import { ImportanceChart, Sparkline } from '../plots';

function count(html: string, pattern: RegExp): number {
  return (html.match(pattern) ?? []).length;
}

describe('Sparkline', () => {
  it('draws one point per check and a line through them', () => {
    const history = [0.0, 0.25, 0.75].map((share, i) => ({
      check_id: i + 1,
      created_at: '2026-12-01T00:00:00Z',
      drift_share: share,
      status: share >= 0.5 ? ('drift' as const) : ('ok' as const)
    }));
    const html = renderToStaticMarkup(
      React.createElement(Sparkline, {
        name: 'churn',
        history,
        threshold: 0.5,
        width: 104,
        height: 24
      })
    );
    expect(html.startsWith('<svg')).toBe(true);
    expect(html).toContain('data-testid="nbp-drift-sparkline"');
    expect(html).toContain('data-points="3"');
    expect(count(html, /<circle /g)).toBe(3);
    expect(html).toContain('d="M2 22 L52 17 L102 7"');
    expect(html).toContain('over 3 checks, latest 75%');
  });
});

describe('ImportanceChart', () => {
  it('is the SHAP bar plot of the model version, its names escaped', () => {
    const html = renderToStaticMarkup(
      React.createElement(ImportanceChart, {
        importance: { income: 0.4, age: 0.1, '<img src=x>': 0.2 },
        modelVersion: 'models:/churn/3',
        drifted: new Set(['income'])
      })
    );
    expect(html).toContain('SHAP importance of models:/churn/3');
    expect(html).toContain('data-bars="3"');
    expect(count(html, /<rect /g)).toBe(3);
    expect(html).not.toContain('<img');
    const order = (html.match(/data-feature="[^"]*"/g) ?? []).map(m =>
      m.slice('data-feature="'.length, -1)
    );
    expect(order).toEqual(['income', '&lt;img src=x&gt;', 'age']);
  });

  it('is nothing without importance', () => {
    const html = renderToStaticMarkup(
      React.createElement(ImportanceChart, {
        importance: null,
        modelVersion: null
      })
    );
    expect(html).toBe('');
  });
});
