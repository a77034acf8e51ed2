/**
 * Pure helpers of the Models panel: short texts, badges, chart data and the
 * side-by-side comparison of versions (no JupyterLab, no DOM).
 */
import type { IMe } from '../common/api';
import type {
  IAuditEntry,
  IAuditFilters,
  IMetricPoint,
  IModelVersion,
  IPromotion,
  ITag
} from './modelsApi';

/** How long a path may be in the sidebar before it is shortened. */
export const PATH_CHARS = 34;

/**
 * `text` shortened to at most `max` characters with an ellipsis in the middle,
 * keeping its end (the file name of a path) whenever it fits.
 */
export function ellipsize(text: string, max: number = PATH_CHARS): string {
  if (max < 2 || text.length <= max) {
    return text.length <= max ? text : text.slice(0, Math.max(max, 0));
  }
  const keep = max - 1;
  const slash = text.lastIndexOf('/', text.length - 2);
  let tail = slash >= 0 ? text.slice(slash) : '';
  if (!tail || tail.length > keep - 4) {
    tail = text.slice(text.length - Math.ceil(keep / 2));
  }
  return `${text.slice(0, keep - tail.length)}…${tail}`;
}

/**
 * The text of an alias badge: `@champion → v3`, or `@champion` when the
 * version goes without saying.
 */
export function aliasBadgeText(alias: string, version?: string | null): string {
  return version ? `@${alias} → v${version}` : `@${alias}`;
}

/**
 * A metric's value in at most four significant digits (`0.9`, `0.1235`, `1e-7`).
 */
export function formatMetric(
  value: number | string | null | undefined
): string {
  if (value === null || value === undefined || value === '') {
    return '—';
  }
  const number = Number(value);
  if (!Number.isFinite(number)) {
    return String(value);
  }
  if (Number.isInteger(number) && Math.abs(number) < 1e6) {
    return String(number);
  }
  return String(Number(number.toPrecision(4)));
}

/** One point of a metric chart, in the SVG's coordinates. */
export interface IChartPoint {
  x: number;
  y: number;
  step: number;
  value: number;
}

/** What a metric-over-steps chart draws. */
export interface IMetricChartData {
  points: IChartPoint[];
  /** The SVG path through the points (empty with fewer than two). */
  path: string;
  min: number;
  max: number;
  firstStep: number;
  lastStep: number;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/**
 * Place the finite values of a metric's history in a `width` × `height` box
 * (`pad` pixels in from each edge): steps left to right, values bottom to top.
 * Null when no value is finite.
 */
export function metricChartData(
  history: readonly IMetricPoint[],
  width: number,
  height: number,
  pad = 3
): IMetricChartData | null {
  const finite = history
    .filter(p => Number.isFinite(Number(p.value)) && Number.isFinite(p.step))
    .map(p => ({ step: p.step, value: Number(p.value) }))
    .sort((a, b) => a.step - b.step);
  if (finite.length === 0) {
    return null;
  }
  const values = finite.map(p => p.value);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const firstStep = finite[0].step;
  const lastStep = finite[finite.length - 1].step;
  const innerW = width - 2 * pad;
  const innerH = height - 2 * pad;
  const points = finite.map(p => ({
    x: round(
      lastStep === firstStep
        ? width / 2
        : pad + ((p.step - firstStep) / (lastStep - firstStep)) * innerW
    ),
    y: round(
      max === min
        ? height / 2
        : pad + (1 - (p.value - min) / (max - min)) * innerH
    ),
    step: p.step,
    value: p.value
  }));
  const path =
    points.length > 1
      ? points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x} ${p.y}`).join(' ')
      : '';
  return { points, path, min, max, firstStep, lastStep };
}

/**
 * The metric to chart first: the one with the most steps, by name among equals.
 */
export function defaultMetric(
  metrics: Readonly<Record<string, readonly IMetricPoint[]>>
): string | null {
  const keys = Object.keys(metrics).sort();
  let best: string | null = null;
  for (const key of keys) {
    if (best === null || metrics[key].length > metrics[best].length) {
      best = key;
    }
  }
  return best;
}

/** One row of the comparison: a key and its value in each compared version. */
export interface ICompareRow {
  key: string;
  values: (string | undefined)[];
  /** Not every version has the same value. */
  differs: boolean;
}

/**
 * Rows comparing `columns` (one record per version, in order): every key any
 * of them has, by name, with whether the versions differ on it.
 */
export function compareRows(
  columns: readonly Readonly<Record<string, string | undefined>>[]
): ICompareRow[] {
  const all: string[] = [];
  for (const column of columns) {
    all.push(...Object.keys(column));
  }
  const keys = [...new Set(all)].sort();
  return keys.map(key => {
    const values = columns.map(c => c[key]);
    return {
      key,
      values,
      differs: new Set(values.map(v => v ?? '\u0000')).size > 1
    };
  });
}

/** A record of `[key, value]` pairs (Object.fromEntries, which ES2018 lacks). */
export function fromPairs(
  pairs: readonly (readonly [string, string | undefined])[]
): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, value] of pairs) {
    if (value !== undefined) {
      record[key] = value;
    }
  }
  return record;
}

/** The tags of a version as a record (the platform's lineage tags included). */
export function tagRecord(
  tags: readonly ITag[] | undefined
): Record<string, string> {
  const record: Record<string, string> = {};
  for (const tag of tags ?? []) {
    record[tag.key] = tag.value;
  }
  return record;
}

/** The metrics of a version as a record of their shown values. */
export function metricRecord(
  metrics: readonly [string, number][]
): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, value] of metrics) {
    record[key] = formatMetric(value);
  }
  return record;
}

/**
 * The versions to compare first: the newest two (by version number).
 */
export function initialSelection(versions: readonly IModelVersion[]): string[] {
  return [...versions]
    .map(v => v.version)
    .sort((a, b) => Number(b) - Number(a))
    .slice(0, 2)
    .sort((a, b) => Number(a) - Number(b));
}

/**
 * Whether the signed-in user is one who decides `promotion`: the server's
 * `rights` say they may approve it, or reject a request someone else made
 * (withdrawing one's own request is no decision).
 */
export function decidable(promotion: IPromotion, me: IMe | null): boolean {
  const rights = promotion.rights;
  if (!rights || promotion.state !== 'pending') {
    return false;
  }
  const own = !!me && promotion.requested_by === me.name;
  return rights.may_approve || (rights.may_reject && !own);
}

/**
 * The badge of the Models header: how many requests wait for the user's
 * decision (`100+` while more pages are not loaded).
 */
export function inboxCountText(count: number, more: boolean): string {
  return `${count}${more ? '+' : ''} to decide`;
}

/** The filters of the audit log as one query key (a change starts over). */
export function auditKey(filters: IAuditFilters): string {
  return JSON.stringify([
    filters.model.trim(),
    filters.user.trim(),
    filters.action.trim(),
    filters.result
  ]);
}

/**
 * What an audit entry is about, in a line: `churn v3 @champion`, or its resource.
 */
export function auditSubject(entry: IAuditEntry): string {
  if (entry.model) {
    return [
      entry.model,
      entry.version ? `v${entry.version}` : null,
      entry.alias ? `@${entry.alias}` : null
    ]
      .filter(Boolean)
      .join(' ');
  }
  return entry.resource ?? entry.path;
}

/**
 * The one line a replay is summed up in: running, reproduced, or which
 * metrics came out different (recorded → new).
 */
export function replaySummary(replay: {
  status: string;
  finished: boolean;
  reproduced: boolean | null;
  metrics: {
    key: string;
    recorded: number | null;
    new: number | null;
    reproduced: boolean;
  }[];
  message?: string | null;
}): string {
  if (!replay.finished) {
    return `Replaying… (run ${replay.status})`;
  }
  if (replay.status !== 'succeeded') {
    return `The replay ${replay.status}${replay.message ? `: ${replay.message}` : '.'}`;
  }
  if (replay.reproduced) {
    const n = replay.metrics.length;
    return `Reproduced: ${n} metric${n === 1 ? '' : 's'} as recorded.`;
  }
  const differing = replay.metrics
    .filter(m => !m.reproduced)
    .map(m => `${m.key} ${formatMetric(m.recorded)} → ${formatMetric(m.new)}`);
  return differing.length
    ? `Not reproduced: ${differing.join(', ')}.`
    : `Not reproduced${replay.message ? `: ${replay.message}` : '.'}`;
}
