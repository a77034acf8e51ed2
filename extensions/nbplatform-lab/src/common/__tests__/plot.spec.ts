import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';

import { DottedLine, HorizontalRule, PlotFrame, shorten } from '../plot';

function svg(...children: React.ReactElement[]): string {
  return renderToStaticMarkup(
    React.createElement(
      'svg',
      null,
      ...children.map((c, i) => React.cloneElement(c, { key: i }))
    )
  );
}

describe('PlotFrame', () => {
  it('sizes the plot and its view box alike and labels it for screen readers', () => {
    const html = renderToStaticMarkup(
      React.createElement(PlotFrame, {
        className: 'nbp-Thing',
        testId: 'nbp-thing',
        width: 120,
        height: 28,
        label: 'Histogram of <x>',
        data: { 'data-bins': 4 },
        children: null
      })
    );
    expect(html).toContain('class="nbp-Plot nbp-Thing"');
    expect(html).toContain('data-testid="nbp-thing"');
    expect(html).toContain('data-bins="4"');
    expect(html).toContain('width="120" height="28" viewBox="0 0 120 28"');
    expect(html).toContain('role="img" aria-label="Histogram of &lt;x&gt;"');
    expect(html).not.toContain('<title>');
  });

  it('repeats the label as the hover tip when titled', () => {
    const html = renderToStaticMarkup(
      React.createElement(PlotFrame, {
        className: 'nbp-Thing',
        testId: 'nbp-thing',
        width: 10,
        height: 10,
        label: 'loss over 3 steps',
        titled: true,
        children: null
      })
    );
    expect(html).toContain('<title>loss over 3 steps</title>');
  });
});

describe('HorizontalRule', () => {
  it('is solid as a baseline and dashed as a threshold', () => {
    const solid = svg(
      React.createElement(HorizontalRule, { y: 27.5, width: 120 })
    );
    expect(solid).toContain('x1="0" y1="27.5" x2="120" y2="27.5"');
    expect(solid).not.toContain('stroke-dasharray');
    const dashed = svg(
      React.createElement(HorizontalRule, { y: 12, width: 120, dashed: true })
    );
    expect(dashed).toContain('stroke-dasharray="3 2"');
  });
});

describe('DottedLine', () => {
  interface IValuePoint {
    x: number;
    y: number;
    v: string;
  }
  const Line = DottedLine<IValuePoint>;
  const points: IValuePoint[] = [
    { x: 0, y: 10, v: 'a' },
    { x: 5, y: 2, v: 'b' },
    { x: 10, y: 6, v: 'c' }
  ];
  const props = {
    className: 'nbp-Line',
    testId: 'nbp-line',
    radius: 1.2,
    keyOf: (_: unknown, i: number) => i,
    tip: (p: IValuePoint) => `value ${p.v}`,
    fill: () => 'red'
  };

  it('draws the line and a dot per point, the last one larger', () => {
    const html = svg(
      React.createElement(Line, {
        ...props,
        points,
        path: 'M0 10 L5 2 L10 6'
      })
    );
    expect(html).toContain('d="M0 10 L5 2 L10 6"');
    expect((html.match(/<circle /g) ?? []).length).toBe(3);
    expect((html.match(/r="1.2"/g) ?? []).length).toBe(2);
    expect(html).toContain('r="2.5"');
    expect(html).toContain('<title>value c</title>');
  });

  it('draws no line through a single point', () => {
    const html = svg(
      React.createElement(Line, {
        ...props,
        points: points.slice(0, 1),
        path: 'M0 10'
      })
    );
    expect(html).not.toContain('<path');
    expect((html.match(/<circle /g) ?? []).length).toBe(1);
  });
});

describe('shorten', () => {
  it('keeps short text and cuts long text to the limit with an ellipsis', () => {
    expect(shorten('churn', 10)).toBe('churn');
    expect(shorten('0123456789', 10)).toBe('0123456789');
    expect(shorten('0123456789X', 10)).toBe('012345678…');
    expect(shorten('0123456789X', 10)).toHaveLength(10);
  });
});
