/**
 * What the platform's features API answers (`api/features/...`), as far as the
 * Features panel reads it. Times are ISO 8601 UTC text.
 */

/** An entity of a feature view: what its rows are about, and their keys. */
export interface IFeatureEntity {
  name: string;
  join_keys: string[];
  value_type: string;
}

/** One feature of a view, with its Feast type (`Float32`, `Int64`…). */
export interface IFeature {
  name: string;
  dtype: string;
}

/** Where a view's rows come from. */
export interface IFeatureSource {
  name: string;
  type: string;
  path: string | null;
  timestamp_field: string;
}

export type MaterializationStatus = 'running' | 'succeeded' | 'failed';

/** One run of materialization (offline store → online store). */
export interface IMaterialization {
  id: string;
  views: string[];
  start: string | null;
  end: string | null;
  incremental: boolean;
  status: MaterializationStatus;
  error: string | null;
  started_by: string;
  /** Set when a job run started it (with its run's token). */
  job_id: string | null;
  run_id: string | null;
  started_at: string;
  finished_at: string | null;
}

export type FreshnessStatus = 'fresh' | 'stale' | 'never';

/** How fresh the online values of a view are, as the platform judged them. */
export interface IFreshness {
  status: FreshnessStatus;
  /** Seconds from the end of the last materialization to `checked_at`. */
  age_seconds: number | null;
  checked_at: string;
}

/** A feature view, as `api/features/views` lists it. */
export interface IFeatureView {
  name: string;
  description: string;
  owner: string;
  tags: Record<string, string>;
  entities: IFeatureEntity[];
  features: IFeature[];
  /** Null: no TTL. */
  ttl_seconds: number | null;
  online: boolean;
  source: IFeatureSource;
  created_at: string | null;
  updated_at: string | null;
  materialization: {
    start: string | null;
    end: string | null;
    last_run: IMaterialization | null;
  };
  freshness: IFreshness;
}

/** A histogram: `counts[i]` values in `[edges[i], edges[i + 1])`. */
export interface IHistogram {
  edges: number[];
  counts: number[];
}

/** One value of a non-numeric column and how often it occurs. */
export interface ITopValue {
  value: string;
  count: number;
}

/** Statistics of one column of a view's source. */
export interface IColumnStats {
  name: string;
  dtype: string;
  count: number;
  nulls: number;
  mean: number | null;
  std: number | null;
  min: number | string | null;
  max: number | string | null;
  histogram: IHistogram | null;
  top: ITopValue[] | null;
}

/** Statistics of a view's source data. */
export interface IViewStats {
  row_count: number;
  event_time: { min: string | null; max: string | null };
  columns: IColumnStats[];
}

/** A feature view with its statistics (`api/features/views/<name>`). */
export interface IFeatureViewDetail extends IFeatureView {
  stats?: IViewStats | null;
}

/** A feature service: a named set of features (`view:feature`) of several views. */
export interface IFeatureService {
  name: string;
  description: string;
  owner: string;
  tags: Record<string, string>;
  features: string[];
  views: string[];
}

export interface IFeatureViewList {
  feature_views: IFeatureView[];
  next_page_token?: string | null;
}

export interface IFeatureServiceList {
  feature_services: IFeatureService[];
  next_page_token?: string | null;
}

export interface IMaterializationList {
  materializations: IMaterialization[];
  next_page_token?: string | null;
}
