/**
 * The pure part of usePagedResource: how loaded pages, refreshed pages and
 * refreshed items combine, and when the next refresh is due.
 */

/**
 * One page of a list, as the platform's REST API pages lists
 * (`max_results`, `page_token` → `next_page_token`).
 */
export interface IPage<T> {
  items: T[];
  /** Where the next page starts (`next_page_token`), or null after the last. */
  next: string | null;
}

/** The first wait after an error, where the resource is not polled otherwise. */
export const RETRY_MS = 5_000;
/** The longest wait between two tries while errors go on. */
export const MAX_BACKOFF_MS = 120_000;

/**
 * The items after the first page was fetched again.
 *
 * With one page loaded, the fresh first page is the list. With more, the fresh
 * first page comes first and every other loaded item stays after it, in its
 * order (an item pushed off the first page by newer ones is not lost; one
 * deleted elsewhere stays until refreshed on its own or the list starts over).
 *
 * @param loaded - The items shown, or null before the first page.
 * @param pages - How many pages `loaded` holds.
 * @param first - The items of the fresh first page.
 * @param keyOf - The identity of an item.
 */
export function mergeFirstPage<T>(
  loaded: readonly T[] | null,
  pages: number,
  first: readonly T[],
  keyOf: (item: T) => string
): T[] {
  if (loaded === null || pages <= 1) {
    return [...first];
  }
  const fresh = new Set(first.map(keyOf));
  return [...first, ...loaded.filter(item => !fresh.has(keyOf(item)))];
}

/**
 * The items with the next page after them, leaving out items already shown
 * (an offset moved by an item added meanwhile repeats one).
 */
export function appendPage<T>(
  loaded: readonly T[],
  page: readonly T[],
  keyOf: (item: T) => string
): T[] {
  const seen = new Set(loaded.map(keyOf));
  return [...loaded, ...page.filter(item => !seen.has(keyOf(item)))];
}

/**
 * The items with the one keyed `key` replaced by `item`, or removed when
 * `item` is null (it is gone).
 */
export function replaceItem<T>(
  items: readonly T[],
  key: string,
  item: T | null,
  keyOf: (item: T) => string
): T[] {
  if (item === null) {
    return items.filter(i => keyOf(i) !== key);
  }
  return items.map(i => (keyOf(i) === key ? item : i));
}

/**
 * When to refresh a resource.
 */
export interface IPollPolicy {
  /** Fetch the first page again this often; null: only when asked. */
  pollMs?: number | null;
  /** While an item is still changing (a queued or running run), this often. */
  liveMs?: number | null;
}

/**
 * The wait before the next refresh, or null when none is due.
 *
 * @param policy - The resource's intervals.
 * @param live - Whether a loaded item is still changing.
 * @param failures - How many refreshes in a row failed: the wait doubles with
 *   each, up to MAX_BACKOFF_MS (from RETRY_MS where nothing is polled).
 */
export function nextDelay(
  policy: IPollPolicy,
  live: boolean,
  failures: number
): number | null {
  const poll = policy.pollMs ?? null;
  const liveMs = live ? (policy.liveMs ?? null) : null;
  const base =
    poll === null ? liveMs : liveMs === null ? poll : Math.min(poll, liveMs);
  if (failures > 0) {
    return Math.min((base ?? RETRY_MS) * 2 ** failures, MAX_BACKOFF_MS);
  }
  return base;
}

/**
 * Whether a refresh must fetch the first page, rather than only the items
 * still changing.
 *
 * @param policy - The resource's intervals.
 * @param sinceFirst - Milliseconds since the first page last came.
 * @param liveCount - How many loaded items are still changing.
 * @param canFetchItem - Whether the resource can fetch one item alone.
 */
export function firstPageDue(
  policy: IPollPolicy,
  sinceFirst: number,
  liveCount: number,
  canFetchItem: boolean
): boolean {
  if (liveCount === 0 || !canFetchItem) {
    return true;
  }
  const poll = policy.pollMs ?? null;
  // A little early is on time: timers fire late, and a tick lost here waits a whole liveMs.
  return poll !== null && sinceFirst >= poll - (policy.liveMs ?? 0) / 2;
}
