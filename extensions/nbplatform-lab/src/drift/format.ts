/**
 * The pure logic of the Drift panel: rankings, plot geometry, texts and which
 * alerts are new. No JupyterLab, no DOM: tested with jest.
 */
import type { DriftStatus, IAlert, IColumnResult, IMonitor } from './types';

/** The statuses a badge knows; anything else shows as unknown. */
export const STATUSES: readonly DriftStatus[] = [
  'unknown',
  'ok',
  'warning',
  'drift'
];

/** A status the panel can show (an unexpected value becomes `unknown`). */
export function statusOf(value: unknown): DriftStatus {
  return STATUSES.includes(value as DriftStatus)
    ? (value as DriftStatus)
    : 'unknown';
}

/** The value a column is ranked by: `weighted`, else its score. */
export function weightOf(column: IColumnResult): number {
  const value = column.weighted ?? column.score;
  return Number.isFinite(value) ? value : 0;
}

/**
 * The columns of a check, most important drift first: by `weighted`, then by
 * score, then by name (a stable order for equal values).
 */
export function rankColumns(columns: IColumnResult[]): IColumnResult[] {
  return [...columns].sort(
    (a, b) =>
      weightOf(b) - weightOf(a) ||
      (Number.isFinite(b.score) ? b.score : 0) -
        (Number.isFinite(a.score) ? a.score : 0) ||
      (a.column < b.column ? -1 : a.column > b.column ? 1 : 0)
  );
}

/** A number in at most 3 significant digits (`0.123`, `12.3`, `1.23e+6`). */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '—';
  }
  if (value === 0) {
    return '0';
  }
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) {
    return value.toExponential(2);
  }
  return String(Number(value.toPrecision(3)));
}

/** A share as a percentage: `0.25` -> `25%`. */
export function formatShare(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '—';
  }
  return `${Number((value * 100).toFixed(1))}%`;
}

/** What a monitor watches: its model, else its feature view. */
export function targetText(monitor: IMonitor): string {
  if (monitor.model) {
    return `model ${monitor.model}`;
  }
  if (monitor.feature_view) {
    return `feature view ${monitor.feature_view}`;
  }
  return 'no model or feature view';
}

/** Whether a monitor is muted at `now`. */
export function isMuted(monitor: IMonitor, now: number): boolean {
  const until = monitor.muted_until ? Date.parse(monitor.muted_until) : NaN;
  return Number.isFinite(until) && until > now;
}

/** A point of a plot. */
export interface IPoint {
  x: number;
  y: number;
}

/**
 * The points of a sparkline of `values` in a `width`×`height` box: evenly
 * spaced left to right, 0 at the bottom and `max` (or the largest value, when
 * larger) at the top, `pad` pixels from the edges. One value sits in the
 * middle; values that are not finite count as 0.
 */
export function sparklinePoints(
  values: number[],
  width: number,
  height: number,
  max = 1,
  pad = 2
): IPoint[] {
  const clean = values.map(v => (Number.isFinite(v) ? Math.max(0, v) : 0));
  const top = Math.max(max, ...clean) || 1;
  const inner = { w: width - 2 * pad, h: height - 2 * pad };
  const round = (v: number): number => Math.round(v * 100) / 100;
  return clean.map((v, i) => ({
    x: round(
      pad +
        (clean.length === 1 ? inner.w / 2 : (i * inner.w) / (clean.length - 1))
    ),
    y: round(pad + inner.h - (v / top) * inner.h)
  }));
}

/** The SVG path (`M x y L x y ...`) through `points`; empty for none. */
export function sparklinePath(points: IPoint[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x} ${p.y}`).join(' ');
}

/** One bar of the importance chart. */
export interface IImportanceBar {
  feature: string;
  value: number;
  /** The bar's length in pixels. */
  length: number;
}

/**
 * The bars of a model's importance (mean |SHAP value| per feature), largest
 * first, at most `limit`, the largest `width` pixels long. Negative or not
 * finite values are left out.
 */
export function importanceBars(
  importance: Record<string, number> | null | undefined,
  width: number,
  limit = 15
): IImportanceBar[] {
  const entries = Object.entries(importance ?? {}).filter(
    ([, v]) => typeof v === 'number' && Number.isFinite(v) && v >= 0
  );
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const shown = entries.slice(0, limit);
  const most = shown.length > 0 ? shown[0][1] : 0;
  return shown.map(([feature, value]) => ({
    feature,
    value,
    length: most > 0 ? Math.max(1, Math.round((value / most) * width)) : 1
  }));
}

/** The title of the importance chart. */
export function importanceTitle(modelVersion: string | null): string {
  return `SHAP importance of ${modelVersion || 'the model'}`;
}

/** The identity of an alert: one notification per monitor and check. */
export function alertKey(alert: IAlert): string {
  return `${alert.monitor}#${alert.check_id ?? 'none'}`;
}

/**
 * Which alerts have not been told yet, once each per (monitor, check).
 *
 * `seen` holds the keys already told; the new ones are added to it. A muted
 * alert is not told, but counts as seen: unmuting its monitor does not bring
 * back an old check, only the next one.
 */
export function newAlerts(alerts: IAlert[], seen: Set<string>): IAlert[] {
  const fresh: IAlert[] = [];
  for (const alert of alerts) {
    const key = alertKey(alert);
    if (seen.has(key) || alert.acknowledged) {
      continue;
    }
    seen.add(key);
    if (!alert.muted) {
      fresh.push(alert);
    }
  }
  return fresh;
}

/** What a notification says of an alert. */
export function alertText(alert: IAlert): string {
  const what = alert.status === 'drift' ? 'drift' : 'a drift warning';
  const columns =
    alert.top_columns.length > 0
      ? ` Top columns: ${alert.top_columns.slice(0, 3).join(', ')}.`
      : '';
  const model = alert.model ? ` (${alert.model})` : '';
  return `Drift monitor ${alert.monitor}${model} shows ${what}.${columns}`;
}

/** The text of the status bar badge. */
export function badgeText(count: number | null): string {
  return count === null ? 'Drift: –' : `Drift: ${count}`;
}
