import * as React from 'react';

import { errorMessage } from './api';
import {
  appendPage,
  firstPageDue,
  IPage,
  IPollPolicy,
  mergeFirstPage,
  nextDelay,
  replaceItem
} from './paging';

export type { IPage } from './paging';

/** At most this many changing items are fetched one by one per refresh. */
const MAX_ITEM_FETCHES = 10;

/**
 * What a paged resource is, and how it is kept fresh.
 */
export interface IPagedOptions<T, P extends IPage<T>> extends IPollPolicy {
  /** Fetch the page at `token` (the first page for null). */
  fetchPage: (token: string | null) => Promise<P>;
  /** The identity of an item across pages and refreshes. */
  keyOf: (item: T) => string;
  /** What the list is of (a search text, a parent's id): a change starts over. */
  query?: string;
  /** Wait this long before loading a (new) query, e.g. while the user types. */
  debounceMs?: number;
  /** Items still changing (a queued or running run): refreshed every `liveMs`. */
  isLive?: (item: T) => boolean;
  /**
   * Fetch one item again (a changing item, or one after an action on it);
   * resolve with null when it is gone. Without it, changing items are
   * refreshed by fetching the first page again.
   */
  fetchItem?: (item: T) => Promise<T | null>;
  /** Whether refreshes may run now (the panel is on screen). */
  active: boolean;
  /** Refresh now whenever this changes (not on mount). */
  reloadOn?: string | number;
}

/**
 * A paged resource as a panel shows it.
 */
export interface IPagedResource<T, P extends IPage<T> = IPage<T>> {
  /** The loaded items, or null before the first page came. */
  items: T[] | null;
  /** The latest first page, with whatever came with it. */
  first: P | null;
  hasMore: boolean;
  loadingMore: boolean;
  /** The last error, until a refresh succeeds. */
  error: string | null;
  /** Fetch the next page and show it after the loaded ones. */
  loadMore: () => void;
  /** Fetch the first page (and the changing items) now. */
  reload: () => void;
  /** Fetch one item again now (after an action on it). */
  refreshItem: (item: T) => void;
}

interface IState<T, P> {
  /** The query the items are of; null before the first answer. */
  query: string | null;
  items: T[] | null;
  first: P | null;
  next: string | null;
  /** How many pages `items` holds. */
  pages: number;
  loadingMore: boolean;
  error: string | null;
  /** Refreshes failed in a row (the next one waits longer). */
  failures: number;
  /** Bumped by every refresh that ended: the next one is planned from it. */
  ticks: number;
}

/**
 * Whether the browser tab is on screen.
 */
function usePageVisible(): boolean {
  const [visible, setVisible] = React.useState(
    () => document.visibilityState !== 'hidden'
  );
  React.useEffect(() => {
    const update = (): void =>
      setVisible(document.visibilityState !== 'hidden');
    document.addEventListener('visibilitychange', update);
    return () => document.removeEventListener('visibilitychange', update);
  }, []);
  return visible;
}

/**
 * Load a paged list of the platform's REST API, more on demand, and keep it
 * fresh by polling only what may have changed.
 *
 * - The first page loads on mount and again when `query` changes (after
 *   `debounceMs`); answers for an older query are dropped.
 * - `loadMore` fetches the page at the last `next_page_token` and appends it.
 * - Every `pollMs` the first page is fetched again and merged in; pages loaded
 *   with More are not fetched again.
 * - While items are live (`isLive`), they are refreshed every `liveMs`: one by
 *   one with `fetchItem`, or else through the first page.
 * - Nothing is polled while `active` is false, the browser tab is hidden or
 *   the component is unmounted; becoming active again refreshes at once.
 * - After an error the wait doubles with each failure in a row (up to
 *   MAX_BACKOFF_MS); the first success resets it.
 */
export function usePagedResource<T, P extends IPage<T> = IPage<T>>(
  options: IPagedOptions<T, P>
): IPagedResource<T, P> {
  const query = options.query ?? '';
  const [state, setState] = React.useState<IState<T, P>>({
    query: null,
    items: null,
    first: null,
    next: null,
    pages: 0,
    loadingMore: false,
    error: null,
    failures: 0,
    ticks: 0
  });

  // Callbacks read the options and state of the latest render.
  const latest = React.useRef({ options, query, state });
  latest.current = { options, query, state };
  const mounted = React.useRef(true);
  /** Bumped by each first-page request: only the latest one's answer counts. */
  const request = React.useRef(0);
  /** When the first page last came. */
  const firstAt = React.useRef(0);

  React.useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const failed = React.useCallback((error: unknown): void => {
    if (mounted.current) {
      setState(s => ({
        ...s,
        error: errorMessage(error),
        failures: s.failures + 1,
        ticks: s.ticks + 1
      }));
    }
  }, []);

  /** Fetch the first page and merge it in; resolve with it (null: dropped). */
  const loadFirst = React.useCallback(async (): Promise<P | null> => {
    const mine = ++request.current;
    const { options: o, query: q } = latest.current;
    const page = await o.fetchPage(null);
    if (
      !mounted.current ||
      mine !== request.current ||
      q !== latest.current.query
    ) {
      return null;
    }
    firstAt.current = Date.now();
    setState(s => {
      const same = s.query === q;
      return {
        ...s,
        query: q,
        items: same
          ? mergeFirstPage(s.items, s.pages, page.items, o.keyOf)
          : [...page.items],
        first: page,
        next: same && s.pages > 1 ? s.next : page.next,
        pages: same ? Math.max(s.pages, 1) : 1,
        loadingMore: same && s.loadingMore,
        error: null,
        failures: 0,
        ticks: s.ticks + 1
      };
    });
    return page;
  }, []);

  /** Fetch `targets` one by one and put them in place (or out, when gone). */
  const loadItems = React.useCallback(async (targets: T[]): Promise<void> => {
    const { options: o, query: q } = latest.current;
    const fetchItem = o.fetchItem;
    if (!fetchItem || targets.length === 0) {
      return;
    }
    const answers = await Promise.all(
      targets.map(async item => [o.keyOf(item), await fetchItem(item)] as const)
    );
    if (!mounted.current || q !== latest.current.query) {
      return;
    }
    setState(s =>
      s.query !== q || s.items === null
        ? s
        : {
            ...s,
            items: answers.reduce(
              (items, [key, item]) => replaceItem(items, key, item, o.keyOf),
              s.items
            ),
            error: null,
            failures: 0,
            ticks: s.ticks + 1
          }
    );
  }, []);

  /** One refresh: the first page when due (or `force`), then the live items. */
  const refresh = React.useCallback(
    async (force: boolean): Promise<void> => {
      const { options: o, state: s } = latest.current;
      const live = o.isLive && s.items ? s.items.filter(o.isLive) : [];
      try {
        let rest = live;
        if (
          force ||
          s.failures > 0 ||
          firstPageDue(
            o,
            Date.now() - firstAt.current,
            live.length,
            !!o.fetchItem
          )
        ) {
          const page = await loadFirst();
          if (page === null) {
            return;
          }
          const fresh = new Set(page.items.map(o.keyOf));
          rest = live.filter(item => !fresh.has(o.keyOf(item)));
        }
        await loadItems(rest.slice(0, MAX_ITEM_FETCHES));
      } catch (error) {
        failed(error);
      }
    },
    [failed, loadFirst, loadItems]
  );

  // The first page, on mount and for each new query.
  React.useEffect(() => {
    const timer = window.setTimeout(
      () => void loadFirst().catch(failed),
      latest.current.options.debounceMs ?? 0
    );
    return () => window.clearTimeout(timer);
  }, [query, loadFirst, failed]);

  // The next refresh, planned again after each one (a chain of timeouts, so
  // that requests never overlap), only while on screen.
  const pageVisible = usePageVisible();
  const polling = options.active && pageVisible;
  const live = !!options.isLive && !!state.items?.some(options.isLive);
  const started = state.query !== null || state.failures > 0;
  const delay = started
    ? nextDelay(
        { pollMs: options.pollMs, liveMs: options.liveMs },
        live,
        state.failures
      )
    : null;
  React.useEffect(() => {
    if (!polling || delay === null) {
      return;
    }
    const timer = window.setTimeout(() => void refresh(false), delay);
    return () => window.clearTimeout(timer);
  }, [polling, delay, state.ticks, refresh]);

  // Back on screen: what changed meanwhile shows at once.
  const wasPolling = React.useRef(polling);
  React.useEffect(() => {
    if (polling && !wasPolling.current && latest.current.state.query !== null) {
      void refresh(true);
    }
    wasPolling.current = polling;
  }, [polling, refresh]);

  // Asked from outside (after an action elsewhere).
  const reloadOn = React.useRef(options.reloadOn);
  React.useEffect(() => {
    if (reloadOn.current !== options.reloadOn) {
      reloadOn.current = options.reloadOn;
      void refresh(true);
    }
  }, [options.reloadOn, refresh]);

  const loadMore = React.useCallback((): void => {
    const { options: o, query: q, state: s } = latest.current;
    if (s.loadingMore || s.next === null || s.query !== q) {
      return;
    }
    const token = s.next;
    setState(x => ({ ...x, loadingMore: true }));
    o.fetchPage(token).then(
      page => {
        if (mounted.current) {
          setState(x =>
            x.query !== q || x.items === null || x.next !== token
              ? { ...x, loadingMore: false }
              : {
                  ...x,
                  items: appendPage(x.items, page.items, o.keyOf),
                  next: page.next,
                  pages: x.pages + 1,
                  loadingMore: false,
                  error: null
                }
          );
        }
      },
      (error: unknown) => {
        if (mounted.current) {
          setState(x => ({
            ...x,
            loadingMore: false,
            error: errorMessage(error)
          }));
        }
      }
    );
  }, []);

  const reload = React.useCallback(() => void refresh(true), [refresh]);

  const refreshItem = React.useCallback(
    (item: T): void => {
      if (latest.current.options.fetchItem) {
        loadItems([item]).catch(failed);
      } else {
        void refresh(true);
      }
    },
    [failed, loadItems, refresh]
  );

  return {
    items: state.items,
    first: state.first,
    hasMore: state.next !== null,
    loadingMore: state.loadingMore,
    error: state.error,
    loadMore,
    reload,
    refreshItem
  };
}
