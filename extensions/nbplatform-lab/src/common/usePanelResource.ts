import { usePlatform } from './common';
import {
  IPage,
  IPagedOptions,
  IPagedResource,
  usePagedResource
} from './usePagedResource';

/** How often a panel's lists refresh while the sidebar is on screen. */
export const PANEL_REFRESH_MS = 15_000;

/**
 * A paged resource of a sidebar panel: refreshed every PANEL_REFRESH_MS
 * (unless `pollMs` says otherwise), and only while the sidebar is on screen.
 */
export function usePanelResource<T, P extends IPage<T> = IPage<T>>(
  options: Omit<IPagedOptions<T, P>, 'active'>
): IPagedResource<T, P> {
  const { visible } = usePlatform();
  return usePagedResource<T, P>({
    pollMs: PANEL_REFRESH_MS,
    ...options,
    active: visible
  });
}

/**
 * The page of a list answer of the REST API: its items under `field` (none
 * when it has none) and where the next page starts.
 */
export function pageOf<K extends string, T>(
  answer: { [key in K]?: T[] } & { next_page_token?: string | null },
  field: K
): IPage<T> {
  return {
    items: answer[field] ?? [],
    next: answer.next_page_token ?? null
  };
}
