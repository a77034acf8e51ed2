import { PlatformAPIError, query, requestAPI } from '../common/api';

export type RunStatus =
  'queued' | 'running' | 'succeeded' | 'failed' | 'timed-out' | 'cancelled';

/** Statuses after which a run changes no more. */
export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>([
  'succeeded',
  'failed',
  'timed-out',
  'cancelled'
]);

/** Statuses that count as a failure of the run. */
export const FAILED_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>([
  'failed',
  'timed-out'
]);

export type ParameterValue =
  | string
  | number
  | boolean
  | null
  | ParameterValue[]
  | { [key: string]: ParameterValue };

export type Parameters = Record<string, ParameterValue>;

/**
 * One run of a job.
 */
export interface IRun {
  id: string;
  job_id: string;
  job_name?: string;
  owner?: string;
  status: RunStatus;
  attempt: number;
  /** `test`: the notebook's test under nbval before its schedule is activated. */
  trigger: 'schedule' | 'manual' | 'rerun' | 'retry' | 'test';
  scheduled_for: string | null;
  parameters: Parameters;
  source_run_id: string | null;
  /** The run whose token started this one (a notebook that runs a job). */
  parent_run_id: string | null;
  requested_by: string | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  duration_seconds: number | null;
  backend: string | null;
  error: string | null;
  failed_cell: number | null;
  /** The notebook the run executed (known once it started), e.g. `nbplatform:<name>`. */
  notebook?: string | null;
  /** Cell i of n; a failed run stays at its failing cell, with `failed` true. */
  progress: { cell: number; total: number; failed: boolean } | null;
  cancel_requested: boolean;
}

export interface ISchedule {
  kind: 'cron' | 'interval' | 'manual';
  cron: string | null;
  timezone: string;
  interval_seconds: number | null;
}

/**
 * A run in short, as a job carries its newest ones (`recent_runs`).
 */
export interface IRunSummary {
  id: string;
  status: RunStatus;
  trigger: IRun['trigger'];
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  duration_seconds: number | null;
  failed_cell: number | null;
  /** The error's first line ("ValueError: boom (failed in cell 3 of 4)"). */
  error: string | null;
}

/**
 * What the caller may do with a job, decided by the check that refuses the
 * request otherwise (the panel offers nothing the API then refuses).
 */
export interface IJobPermissions {
  /** Change, pause, resume. */
  edit: boolean;
  /** Run now (and cancel, re-run its runs). */
  run: boolean;
  delete: boolean;
  /** Why not, when any of the three is false. */
  reason: string | null;
  /** Open its runs' outputs, HTML and logs. */
  outputs: boolean;
  outputs_reason: string | null;
}

/**
 * A job definition.
 */
export interface IJob {
  id: string;
  name: string;
  owner: string;
  notebook: string;
  parameters: Parameters;
  schedule: ISchedule;
  profile: string;
  timeout_seconds: number;
  retries: number;
  active: boolean;
  /** Whether every jobs reader may open the runs' outputs and logs (else: owner, admins). */
  shared: boolean;
  notify_on: ('failure' | 'success')[];
  tags: string[];
  source: string;
  created_at: string;
  updated_at: string;
  next_run_at: string | null;
  last_run: IRun | null;
  /** The newest runs (at most 5), newest first. */
  recent_runs: IRunSummary[];
  permissions: IJobPermissions;
  /** Parameters of the test that gates the schedule (null: the notebook's defaults). */
  test_parameters?: Parameters | null;
  /** The gate of the schedule: the notebook is tested before it is activated. */
  activation?: IActivation | null;
}

/**
 * A scheduled job becomes active only once its notebook passed a test run
 * (nbval); until then `active` is false.
 */
export interface IActivation {
  state: 'testing' | 'failed' | 'passed';
  reason: string | null;
  run_id: string | null;
}

export interface IJobList {
  jobs: IJob[];
  next_page_token: string | null;
}

export interface IRunList {
  runs: IRun[];
  next_page_token: string | null;
}

export interface IRunLog {
  run_id: string;
  status: RunStatus;
  log: string;
  /** Bytes [offset, next_offset) of a log of `size` bytes. */
  offset: number;
  next_offset: number;
  size: number;
  truncated: boolean;
}

/**
 * The body of `POST jobs`.
 */
export interface IJobCreate {
  name: string;
  notebook: string;
  parameters: Parameters;
  cron?: string;
  timezone?: string;
  profile?: string;
}

/**
 * An nbformat 4 notebook, as far as this extension looks into it.
 */
export interface INotebookJSON {
  cells: { metadata?: Record<string, unknown> }[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor?: number;
}

/** How long after its next run time a job is watched for the run to start. */
const DUE_WINDOW_MS = 120_000;

/**
 * Whether a job is still changing: its last run is queued or running, or its
 * next run is due (the scheduler starts it any moment).
 */
export function isJobLive(job: IJob, now: number = Date.now()): boolean {
  if (job.last_run && !FINAL_STATUSES.has(job.last_run.status)) {
    return true;
  }
  if (job.activation?.state === 'testing') {
    return true; // its schedule is activated when the test passes
  }
  const due = job.active && job.next_run_at ? Date.parse(job.next_run_at) : NaN;
  return due <= now && now - due < DUE_WINDOW_MS;
}

/**
 * A page of jobs: `owner`'s, or every job the caller may read (owner null).
 */
export function listJobs(
  pageToken: string | null,
  owner: string | null = null
): Promise<IJobList> {
  return requestAPI<IJobList>(
    'jobs' + query({ owner, max_results: 50, page_token: pageToken })
  );
}

/**
 * One job, or null when it is gone (deleted).
 */
export async function getJob(jobId: string): Promise<IJob | null> {
  try {
    return await requestAPI<IJob>(`jobs/${encodeURIComponent(jobId)}`);
  } catch (error) {
    if (error instanceof PlatformAPIError && error.status === 404) {
      return null;
    }
    throw error;
  }
}

export function listJobRuns(
  jobId: string,
  pageToken: string | null = null,
  pageSize = 10
): Promise<IRunList> {
  return requestAPI<IRunList>(
    `jobs/${encodeURIComponent(jobId)}/runs` +
      query({ max_results: pageSize, page_token: pageToken })
  );
}

export function listMyRuns(owner: string): Promise<IRunList> {
  return requestAPI<IRunList>('runs' + query({ owner, max_results: 25 }));
}

export function createJob(body: IJobCreate): Promise<IJob> {
  return requestAPI<IJob>('jobs', {
    method: 'POST',
    body: JSON.stringify(body)
  });
}

export function runNow(jobId: string): Promise<IRun> {
  return requestAPI<IRun>(`jobs/${encodeURIComponent(jobId)}/runs`, {
    method: 'POST',
    body: '{}'
  });
}

export function setActive(jobId: string, active: boolean): Promise<IJob> {
  return requestAPI<IJob>(`jobs/${encodeURIComponent(jobId)}`, {
    method: 'PATCH',
    body: JSON.stringify({ active })
  });
}

export function deleteJob(jobId: string): Promise<void> {
  return requestAPI<void>(`jobs/${encodeURIComponent(jobId)}`, {
    method: 'DELETE'
  });
}

/** One run, with its live progress. */
export function getRun(runId: string): Promise<IRun> {
  return requestAPI<IRun>(`runs/${encodeURIComponent(runId)}`);
}

export function runLog(runId: string): Promise<IRunLog> {
  return requestAPI<IRunLog>(`runs/${encodeURIComponent(runId)}/log`);
}

export function runOutput(runId: string): Promise<INotebookJSON> {
  return requestAPI<INotebookJSON>(`runs/${encodeURIComponent(runId)}/output`);
}

/** The output notebook rendered as HTML by nbconvert (written when the run ends). */
export function runHtml(
  runId: string
): Promise<{ run_id: string; html: string }> {
  return requestAPI<{ run_id: string; html: string }>(
    `runs/${encodeURIComponent(runId)}/html`
  );
}
