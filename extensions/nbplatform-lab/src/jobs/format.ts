/**
 * Pure formatting of the Jobs panel: relative times, run dots, permission notes.
 *
 * No JupyterLab and no DOM here: jest tests them (src/jobs/__tests__).
 */
import type { IJob, IJobPermissions, IRunSummary, RunStatus } from './jobsApi';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * `target` relative to `now`: "in 8 h", "in 5 min", "3 d ago", "now".
 *
 * One unit, rounded to the nearest: seconds under a minute, minutes under an
 * hour, hours under two days, then days. Null (or not a time) gives "—".
 */
export function formatRelative(
  target: string | number | null | undefined,
  now: number = Date.now()
): string {
  if (target === null || target === undefined || target === '') {
    return '—';
  }
  const at = typeof target === 'number' ? target : Date.parse(target);
  if (isNaN(at)) {
    return '—';
  }
  const delta = at - now;
  const span = Math.abs(delta);
  if (span < 5 * SECOND) {
    return 'now';
  }
  let amount: string;
  if (span < MINUTE) {
    amount = `${Math.round(span / SECOND)} s`;
  } else if (span < HOUR) {
    amount = `${Math.min(59, Math.round(span / MINUTE))} min`;
  } else if (span < 2 * DAY) {
    amount = `${Math.round(span / HOUR)} h`;
  } else {
    amount = `${Math.round(span / DAY)} d`;
  }
  return delta > 0 ? `in ${amount}` : `${amount} ago`;
}

/** The four kinds of dot: how a run ended, or that it has not yet. */
export type DotKind = 'success' | 'failed' | 'running' | 'queued' | 'cancelled';

/**
 * The dot of a run status (`timed-out` is a failure).
 */
export function dotKind(status: RunStatus): DotKind {
  switch (status) {
    case 'succeeded':
      return 'success';
    case 'failed':
    case 'timed-out':
      return 'failed';
    case 'running':
      return 'running';
    case 'queued':
      return 'queued';
    default:
      return 'cancelled';
  }
}

/**
 * One dot of a job line: its kind and its accessible label (also its title).
 */
export interface IRunDot {
  id: string;
  kind: DotKind;
  status: RunStatus;
  label: string;
}

/**
 * The dots of a job's recent runs, oldest left, newest right.
 *
 * @param runs - The job's `recent_runs`, newest first (as the API gives them).
 * @param formatTime - How an absolute time is written (the locale's, in the panel).
 */
export function runDots(
  runs: readonly IRunSummary[],
  formatTime: (iso: string) => string = iso => iso
): IRunDot[] {
  return [...runs].reverse().map(run => {
    const when = run.started_at ?? run.created_at;
    const duration =
      run.duration_seconds !== null
        ? `, ${formatSeconds(run.duration_seconds)}`
        : '';
    // The error says where it failed, counting cells as the user does.
    const cell =
      run.error && dotKind(run.status) === 'failed' ? ` — ${run.error}` : '';
    return {
      id: run.id,
      kind: dotKind(run.status),
      status: run.status,
      label: `Run of ${formatTime(when)}: ${run.status}${duration}${cell}`
    };
  });
}

/**
 * A duration in seconds, short: `42 s`, `3 min 4 s`, `1 h 2 min`.
 */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || isNaN(seconds)) {
    return '—';
  }
  if (seconds < 10) {
    return `${seconds.toFixed(1)} s`;
  }
  if (seconds < 60) {
    return `${Math.round(seconds)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    const rest = Math.round(seconds % 60);
    return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
  }
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}

/**
 * What the caller may do with `job`, as the server decided (nothing while unknown).
 */
export function jobPermissions(job: IJob): IJobPermissions {
  // An answer of an older service has no permissions: offer nothing, say why.
  const given = job.permissions as IJobPermissions | undefined;
  const unknown = 'The platform did not say what you may do with this job.';
  return (
    given ?? {
      edit: false,
      run: false,
      delete: false,
      reason: unknown,
      outputs: false,
      outputs_reason: unknown
    }
  );
}
