/**
 * How the Features panel words what the features API answers (pure functions).
 */
import type { IFeatureEntity, IFreshness, IHistogram } from './types';

/**
 * An age or a span in seconds, coarse as people say it: `42 s`, `5 min`,
 * `3 h 20 min`, `2 d 4 h`.
 */
export function formatAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '—';
  }
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s} s`;
  }
  const minutes = Math.floor(s / 60);
  if (minutes < 60) {
    return `${minutes} min`;
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    const rest = minutes % 60;
    return rest ? `${hours} h ${rest} min` : `${hours} h`;
  }
  const days = Math.floor(hours / 24);
  const rest = hours % 24;
  return rest ? `${days} d ${rest} h` : `${days} d`;
}

/**
 * A view's TTL: how long a materialized value counts as fresh.
 */
export function formatTtl(ttlSeconds: number | null | undefined): string {
  // Feast's 0 is "no TTL" too.
  if (!ttlSeconds) {
    return 'no TTL';
  }
  return `TTL ${formatAge(ttlSeconds)}`;
}

/**
 * The freshness of a view in a few words: `fresh`, `stale` or `never`,
 * followed by how old its online values are.
 */
export function freshnessText(freshness: IFreshness): string {
  if (freshness.status === 'never') {
    return 'never materialized';
  }
  if (freshness.age_seconds === null) {
    return freshness.status;
  }
  return `${freshness.status} · ${formatAge(freshness.age_seconds)} old`;
}

/** Whether an entity is Feast's stand-in for views without one. */
export function isDummyEntity(entity: IFeatureEntity): boolean {
  return entity.name === '__dummy';
}

/**
 * A view's entities with their join keys: `driver (driver_id)`.
 */
export function entitiesText(entities: readonly IFeatureEntity[]): string {
  const real = entities.filter(e => !isDummyEntity(e));
  if (real.length === 0) {
    return 'no entity';
  }
  return real
    .map(e => {
      const keys = e.join_keys.filter(k => k !== e.name);
      return keys.length ? `${e.name} (${keys.join(', ')})` : e.name;
    })
    .join(', ');
}

/**
 * A number shown in a small space: integers as they are, others with three
 * significant digits.
 */
export function formatNumber(
  value: number | string | null | undefined
): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (typeof value === 'string') {
    return value;
  }
  if (!Number.isFinite(value)) {
    return String(value);
  }
  if (Number.isInteger(value)) {
    return String(value);
  }
  return String(Number(value.toPrecision(3)));
}

/**
 * One bar of a histogram plot, in the plot's coordinates (y grows downwards).
 */
export interface IBar {
  x: number;
  y: number;
  width: number;
  height: number;
  count: number;
  /** The bin's edges, when the histogram has them. */
  from: number | null;
  to: number | null;
}

/**
 * The bars of a histogram in a `width` × `height` plot: one per bin, as tall
 * as its count relative to the largest; a bin with values is at least one
 * unit tall, so that it shows.
 */
export function histogramBars(
  histogram: IHistogram,
  width: number,
  height: number
): IBar[] {
  const counts = histogram.counts;
  if (counts.length === 0) {
    return [];
  }
  const most = Math.max(...counts, 0);
  const bin = width / counts.length;
  const hasEdges = histogram.edges.length === counts.length + 1;
  return counts.map((count, i) => {
    const tall =
      most > 0 && count > 0 ? Math.max(1, (count / most) * height) : 0;
    return {
      x: i * bin,
      y: height - tall,
      width: Math.max(bin - 1, 0.5),
      height: tall,
      count,
      from: hasEdges ? histogram.edges[i] : null,
      to: hasEdges ? histogram.edges[i + 1] : null
    };
  });
}
