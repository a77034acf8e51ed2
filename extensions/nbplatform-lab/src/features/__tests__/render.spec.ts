import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';

import { columnSummary, Distribution, Histogram, TopValues } from '../plots';
import { FeatureTable, viewRows } from '../schema';
import { detail, view } from './fixtures';

function count(html: string, pattern: RegExp): number {
  return (html.match(pattern) ?? []).length;
}

describe('Histogram', () => {
  it('is an inline SVG with one bar per bin and their ranges', () => {
    const html = renderToStaticMarkup(
      React.createElement(Histogram, {
        name: 'conv_rate',
        histogram: { edges: [0, 0.5, 1], counts: [3, 6] }
      })
    );
    expect(html.startsWith('<svg')).toBe(true);
    expect(html).toContain('data-testid="nbp-feature-histogram"');
    expect(html).toContain('data-bins="2"');
    expect(html).toContain('aria-label="Histogram of conv_rate from 0 to 1"');
    expect(count(html, /<rect /g)).toBe(2);
    expect(html).toContain('<title>0 – 0.5: 3</title>');
    expect(html).toContain('<title>0.5 – 1: 6</title>');
  });
});

describe('TopValues', () => {
  it('draws the five most frequent values, their text escaped', () => {
    const top = ['a', 'b', 'c', 'd', 'e', 'f'].map((value, i) => ({
      value,
      count: 10 - i
    }));
    top[0].value = '<img src=x onerror=alert(1)>';
    const html = renderToStaticMarkup(
      React.createElement(TopValues, { name: 'city', top })
    );
    expect(html).toContain('data-testid="nbp-feature-top"');
    expect(html).toContain('data-values="5"');
    expect(count(html, /<rect /g)).toBe(5);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;: 10');
  });
});

describe('Distribution', () => {
  const columns = detail().stats!.columns;

  it('is a histogram for numbers, top values for text, nothing without', () => {
    const [id, rate, city] = columns;
    const html = (c: (typeof columns)[number] | undefined): string =>
      renderToStaticMarkup(React.createElement(Distribution, { column: c }));
    expect(html(rate)).toContain('nbp-feature-histogram');
    expect(html(city)).toContain('nbp-feature-top');
    expect(html(id)).toBe('');
    expect(html(undefined)).toBe('');
  });

  it('summarizes a column in a line', () => {
    expect(columnSummary(columns[1])).toBe(
      'mean 0.512 · 0.02 – 0.99 · 2 nulls'
    );
    expect(columnSummary(columns[2])).toBe('');
  });
});

describe('FeatureTable', () => {
  it('lists every feature with its type, selection and distribution', () => {
    const d = detail();
    const rows = viewRows(d, d.stats);
    expect(rows.map(r => r.ref)).toEqual([
      'driver_stats:conv_rate',
      'driver_stats:city'
    ]);
    const html = renderToStaticMarkup(
      React.createElement(FeatureTable, {
        rows,
        selected: new Set(['driver_stats:city']),
        onChange: () => undefined
      })
    );
    expect(count(html, /data-testid="nbp-feature-row"/g)).toBe(2);
    expect(html).toContain('data-feature="driver_stats:conv_rate"');
    expect(html).toContain(
      '<code data-testid="nbp-feature-name">conv_rate</code>'
    );
    expect(html).toContain('data-testid="nbp-feature-dtype">Float32</span>');
    expect(count(html, /nbp-feature-histogram/g)).toBe(1);
    expect(count(html, /nbp-feature-top/g)).toBe(1);
    // only city is checked, so "select all" is not
    expect(count(html, /checked=""/g)).toBe(1);
    expect(html).toMatch(
      /aria-label="Select driver_stats:city" data-testid="nbp-feature-select" checked=""/
    );
  });

  it('leaves the distributions out without statistics', () => {
    const rows = viewRows(view(), null);
    const html = renderToStaticMarkup(
      React.createElement(FeatureTable, {
        rows,
        selected: new Set(rows.map(r => r.ref)),
        onChange: () => undefined,
        plots: false
      })
    );
    expect(html).not.toContain('nbp-FeatureTable-plot');
    expect(html).toContain('all 2 features');
    expect(count(html, /checked=""/g)).toBe(3);
  });
});
