/**
 * The JSON of the platform's drift capability (`api/drift/...`), as the Drift
 * panel reads it.
 */

/** A monitor's (or a check's) verdict. */
export type DriftStatus = 'unknown' | 'ok' | 'warning' | 'drift';

/** One check, without its columns. */
export interface ICheckSummary {
  id: number;
  monitor: string;
  created_at: string;
  created_by: string | null;
  status: DriftStatus;
  dataset_drift: boolean;
  drift_share: number;
  n_columns: number;
  n_drifted: number;
  reference_rows: number;
  current_rows: number;
  window_start: string | null;
  window_end: string | null;
  has_report: boolean;
  job_run_id: string | null;
  job_id: string | null;
}

/** The drift of one column in a check. */
export interface IColumnResult {
  column: string;
  type: 'num' | 'cat' | 'bin' | string;
  method: string;
  statistic: number;
  threshold: number;
  drifted: boolean;
  /** Drift normalised so that 1 or more means drifted. */
  score: number;
  /** The column's importance to the model, when the check has importances. */
  importance?: number | null;
  /** score × importance share (score without importances): the ranking. */
  weighted?: number;
}

/** One check with its columns, ranked by `weighted`. */
export interface ICheck extends ICheckSummary {
  columns: IColumnResult[];
  importance: Record<string, number> | null;
  model_version: string | null;
  sampled_rows: number | null;
  threshold_share: number;
}

/** One point of a monitor's history. */
export interface IHistoryPoint {
  check_id: number;
  created_at: string;
  drift_share: number;
  status: DriftStatus;
}

/** A drift monitor. */
export interface IMonitor {
  name: string;
  owner: string;
  description: string;
  model: string | null;
  feature_view: string | null;
  drift_share: number;
  schedule_job_id: string | null;
  retrain_job_id: string | null;
  status: DriftStatus;
  status_since: string | null;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  muted_until: string | null;
  watchers: string[];
  created_at: string;
  updated_at: string;
  latest_check: ICheckSummary | null;
  /** The last 50 checks, oldest first (only on `drift/monitors/<name>`). */
  history?: IHistoryPoint[];
}

export interface IMonitorList {
  monitors?: IMonitor[];
  next_page_token?: string | null;
}

/** A monitor of the caller's in warning or drift, not acknowledged. */
export interface IAlert {
  monitor: string;
  status: DriftStatus;
  since: string | null;
  check_id: number | null;
  acknowledged: boolean;
  muted: boolean;
  top_columns: string[];
  model: string | null;
}

export interface IAlertList {
  alerts?: IAlert[];
}

/** What a retrain started: the jobs API's run. */
export interface IRetrainAnswer {
  run: { id: string; status?: string; job_id?: string } & Record<
    string,
    unknown
  >;
  job_id: string;
}
