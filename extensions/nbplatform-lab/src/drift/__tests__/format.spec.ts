import {
  alertKey,
  alertText,
  badgeText,
  formatNumber,
  formatShare,
  importanceBars,
  importanceTitle,
  isMuted,
  newAlerts,
  rankColumns,
  sparklinePath,
  sparklinePoints,
  statusOf,
  targetText
} from '../format';
import type { IAlert, IColumnResult, IMonitor } from '../types';

function column(
  name: string,
  score: number,
  weighted?: number,
  drifted = score >= 1
): IColumnResult {
  return {
    column: name,
    type: 'num',
    method: 'wasserstein',
    statistic: score / 10,
    threshold: 0.1,
    drifted,
    score,
    importance: null,
    weighted
  };
}

function alert(monitor: string, checkId: number, more: Partial<IAlert> = {}) {
  return {
    monitor,
    status: 'drift' as const,
    since: '2026-12-01T00:00:00Z',
    check_id: checkId,
    acknowledged: false,
    muted: false,
    top_columns: ['income', 'age'],
    model: 'models:/churn@champion',
    ...more
  };
}

describe('rankColumns', () => {
  it('puts the largest weighted drift first, not the largest score', () => {
    const ranked = rankColumns([
      column('age', 3.0, 0.3),
      column('income', 2.0, 1.8),
      column('city', 0.2, 0.01, false)
    ]);
    expect(ranked.map(c => c.column)).toEqual(['income', 'age', 'city']);
  });

  it('ranks by score without weights, then by name; the input is kept', () => {
    const input = [column('b', 1), column('a', 1), column('c', 2)];
    expect(rankColumns(input).map(c => c.column)).toEqual(['c', 'a', 'b']);
    expect(input.map(c => c.column)).toEqual(['b', 'a', 'c']);
  });

  it('counts a weight that is not a number as 0', () => {
    const ranked = rankColumns([column('x', NaN, NaN), column('y', 0.5)]);
    expect(ranked.map(c => c.column)).toEqual(['y', 'x']);
  });
});

describe('sparkline', () => {
  it('spaces points evenly, 0 at the bottom and 1 at the top', () => {
    const points = sparklinePoints([0, 0.5, 1], 104, 24);
    expect(points).toEqual([
      { x: 2, y: 22 },
      { x: 52, y: 12 },
      { x: 102, y: 2 }
    ]);
    expect(sparklinePath(points)).toBe('M2 22 L52 12 L102 2');
  });

  it('puts a single point in the middle, and has no path for none', () => {
    expect(sparklinePoints([0.25], 104, 24)).toEqual([{ x: 52, y: 17 }]);
    expect(sparklinePath([])).toBe('');
    expect(sparklinePoints([], 100, 20)).toEqual([]);
  });

  it('scales to the largest value above the maximum; junk counts as 0', () => {
    const points = sparklinePoints([2, NaN, -1], 104, 24);
    expect(points.map(p => p.y)).toEqual([2, 22, 22]);
  });
});

describe('importanceBars', () => {
  it('draws the largest first, scaled to the width, at most the limit', () => {
    const bars = importanceBars({ age: 0.1, income: 0.4, city: 0.2 }, 100, 2);
    expect(bars).toEqual([
      { feature: 'income', value: 0.4, length: 100 },
      { feature: 'city', value: 0.2, length: 50 }
    ]);
  });

  it('leaves out negative and non-finite values; none without importance', () => {
    const bars = importanceBars({ a: -1, b: Infinity, c: 0 }, 100);
    expect(bars).toEqual([{ feature: 'c', value: 0, length: 1 }]);
    expect(importanceBars(null, 100)).toEqual([]);
  });

  it('is titled after the model version', () => {
    expect(importanceTitle('models:/churn/3')).toBe(
      'SHAP importance of models:/churn/3'
    );
    expect(importanceTitle(null)).toBe('SHAP importance of the model');
  });
});

describe('newAlerts', () => {
  it('tells each (monitor, check) once, however often it is polled', () => {
    const seen = new Set<string>();
    expect(
      newAlerts([alert('churn', 1), alert('fraud', 7)], seen)
    ).toHaveLength(2);
    expect(newAlerts([alert('churn', 1), alert('fraud', 7)], seen)).toEqual([]);
    const next = newAlerts([alert('churn', 2), alert('fraud', 7)], seen);
    expect(next.map(alertKey)).toEqual(['churn#2']);
  });

  it('does not tell muted alerts, nor the same check after unmuting', () => {
    const seen = new Set<string>();
    expect(newAlerts([alert('churn', 1, { muted: true })], seen)).toEqual([]);
    expect(newAlerts([alert('churn', 1)], seen)).toEqual([]);
    expect(newAlerts([alert('churn', 2)], seen)).toHaveLength(1);
  });

  it('says what drifted', () => {
    expect(alertText(alert('churn', 1))).toBe(
      'Drift monitor churn (models:/churn@champion) shows drift. Top columns: income, age.'
    );
    expect(
      alertText(
        alert('v', 1, { status: 'warning', top_columns: [], model: null })
      )
    ).toBe('Drift monitor v shows a drift warning.');
    expect(badgeText(null)).toBe('Drift: –');
    expect(badgeText(3)).toBe('Drift: 3');
  });
});

describe('texts', () => {
  const monitor = {
    name: 'churn',
    model: 'models:/churn@champion',
    feature_view: null,
    muted_until: '2026-12-02T12:00:00Z'
  } as IMonitor;

  it('formats numbers, shares, targets and mutes', () => {
    expect(formatNumber(0.123456)).toBe('0.123');
    expect(formatNumber(12.345)).toBe('12.3');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(1234567)).toBe('1.23e+6');
    expect(formatNumber(null)).toBe('—');
    expect(formatShare(0.5)).toBe('50%');
    expect(formatShare(1 / 3)).toBe('33.3%');
    expect(targetText(monitor)).toBe('model models:/churn@champion');
    expect(
      targetText({ ...monitor, model: null, feature_view: 'drivers' })
    ).toBe('feature view drivers');
    expect(isMuted(monitor, Date.parse('2026-12-02T11:00:00Z'))).toBe(true);
    expect(isMuted(monitor, Date.parse('2026-12-02T13:00:00Z'))).toBe(false);
    expect(isMuted({ ...monitor, muted_until: null }, 0)).toBe(false);
    expect(statusOf('drift')).toBe('drift');
    expect(statusOf('<b>')).toBe('unknown');
  });
});
