import {
  entitiesText,
  formatAge,
  formatNumber,
  formatTtl,
  freshnessText,
  histogramBars
} from '../format';

describe('formatAge', () => {
  it.each([
    [null, '—'],
    [NaN, '—'],
    [-3, '0 s'],
    [42.4, '42 s'],
    [300, '5 min'],
    [3600, '1 h'],
    [12_000, '3 h 20 min'],
    [86_400, '1 d'],
    [187_200, '2 d 4 h']
  ])('%p s is %p', (seconds, text) => {
    expect(formatAge(seconds)).toBe(text);
  });
});

describe('formatTtl', () => {
  it('says when there is no TTL (null or Feast’s 0)', () => {
    expect(formatTtl(null)).toBe('no TTL');
    expect(formatTtl(0)).toBe('no TTL');
    expect(formatTtl(86_400)).toBe('TTL 1 d');
  });
});

describe('freshnessText', () => {
  const checked_at = '2026-12-02T05:00:00+00:00';
  it('gives the status and the age', () => {
    expect(
      freshnessText({ status: 'fresh', age_seconds: 330, checked_at })
    ).toBe('fresh · 5 min old');
    expect(
      freshnessText({ status: 'stale', age_seconds: 200_000, checked_at })
    ).toBe('stale · 2 d 7 h old');
    expect(
      freshnessText({ status: 'never', age_seconds: null, checked_at })
    ).toBe('never materialized');
  });
});

describe('entitiesText', () => {
  it('names entities and their join keys', () => {
    expect(
      entitiesText([
        { name: 'driver', join_keys: ['driver_id'], value_type: 'INT64' },
        { name: 'city', join_keys: ['city'], value_type: 'STRING' }
      ])
    ).toBe('driver (driver_id), city');
    expect(
      entitiesText([
        { name: '__dummy', join_keys: ['__dummy_id'], value_type: 'STRING' }
      ])
    ).toBe('no entity');
  });
});

describe('formatNumber', () => {
  it.each([
    [null, '—'],
    [3, '3'],
    [1234567, '1234567'],
    [0.512345, '0.512'],
    [12345.678, '12300'],
    ['Lisbon', 'Lisbon']
  ])('%p is %p', (value, text) => {
    expect(formatNumber(value)).toBe(text);
  });
});

describe('histogramBars', () => {
  it('draws one bar per bin, the fullest as tall as the plot', () => {
    const bars = histogramBars(
      { edges: [0, 1, 2, 3], counts: [5, 10, 0] },
      30,
      20
    );
    expect(bars.map(b => [b.x, b.height, b.y])).toEqual([
      [0, 10, 10],
      [10, 20, 0],
      [20, 0, 20]
    ]);
    expect(bars[1]).toMatchObject({ from: 1, to: 2, count: 10, width: 9 });
  });

  it('keeps a small bin visible', () => {
    const [tiny] = histogramBars({ edges: [], counts: [1, 1000] }, 20, 10);
    expect(tiny.height).toBe(1);
    expect(tiny.from).toBeNull();
  });

  it('draws nothing without bins, and no bars without values', () => {
    expect(histogramBars({ edges: [0], counts: [] }, 10, 10)).toEqual([]);
    expect(
      histogramBars({ edges: [0, 1], counts: [0] }, 10, 10)[0].height
    ).toBe(0);
  });
});
