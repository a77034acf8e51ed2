import type { IFeatureView, IFeatureViewDetail } from '../types';

/** A feature view as the platform lists it. */
export function view(overrides: Partial<IFeatureView> = {}): IFeatureView {
  return {
    name: 'driver_stats',
    description: 'Hourly driver statistics',
    owner: 'mona',
    tags: {},
    entities: [
      { name: 'driver', join_keys: ['driver_id'], value_type: 'INT64' }
    ],
    features: [
      { name: 'conv_rate', dtype: 'Float32' },
      { name: 'city', dtype: 'String' }
    ],
    ttl_seconds: 86_400,
    online: true,
    source: {
      name: 'driver_hourly',
      type: 'file',
      path: '/home/nbp/features/data/driver.parquet',
      timestamp_field: 'event_timestamp'
    },
    created_at: '2026-12-01T00:00:00+00:00',
    updated_at: '2026-12-01T00:00:00+00:00',
    materialization: { start: null, end: null, last_run: null },
    freshness: {
      status: 'never',
      age_seconds: null,
      checked_at: '2026-12-02T05:00:00+00:00'
    },
    ...overrides
  };
}

/** The same view with the statistics of its source. */
export function detail(): IFeatureViewDetail {
  return {
    ...view(),
    stats: {
      row_count: 40,
      event_time: {
        min: '2026-11-30T00:00:00+00:00',
        max: '2026-12-01T23:00:00+00:00'
      },
      columns: [
        {
          name: 'driver_id',
          dtype: 'int64',
          count: 40,
          nulls: 0,
          mean: 1002.5,
          std: 1.1,
          min: 1001,
          max: 1004,
          histogram: null,
          top: null
        },
        {
          name: 'conv_rate',
          dtype: 'float32',
          count: 38,
          nulls: 2,
          mean: 0.51234,
          std: 0.2,
          min: 0.02,
          max: 0.99,
          histogram: { edges: [0, 0.25, 0.5, 0.75, 1], counts: [4, 10, 20, 4] },
          top: null
        },
        {
          name: 'city',
          dtype: 'string',
          count: 40,
          nulls: 0,
          mean: null,
          std: null,
          min: null,
          max: null,
          histogram: null,
          top: [
            { value: 'Lisbon', count: 25 },
            { value: 'Porto', count: 15 }
          ]
        }
      ]
    }
  };
}
