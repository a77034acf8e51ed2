import * as React from 'react';

import { ErrorLine, SmallButton } from './common';
import { IPage, IPagedResource } from './usePagedResource';

/** `data-*` attributes, e.g. `{ 'data-model': 'churn' }`. */
export type DataAttributes = Record<`data-${string}`, string | number>;

/**
 * One item of a panel's list that expands to its details.
 *
 * The head is a button (`<testId>-toggle`, `aria-expanded`) with a caret, the
 * name (`nameTestId`, by default `<testId>-name`) and `badges`; `children`
 * show below it at all times; `detail` renders into `.nbp-Detail`
 * (`detailTestId`, by default `<testId>-detail`) only while expanded.
 * Expanded or not is the item's own state unless `expanded` is given.
 */
export function ListItem(props: {
  testId: string;
  data?: DataAttributes;
  name: string;
  nameTestId?: string;
  badges?: React.ReactNode;
  children?: React.ReactNode;
  detailTestId?: string;
  detail: () => React.ReactNode;
  expanded?: boolean;
  onExpandedChange?: (expanded: boolean) => void;
}): JSX.Element {
  const [own, setOwn] = React.useState(false);
  const open = props.expanded ?? own;
  const toggle = (): void => {
    setOwn(!open);
    props.onExpandedChange?.(!open);
  };
  return (
    <li className="nbp-Item" data-testid={props.testId} {...props.data}>
      <button
        type="button"
        className="nbp-Item-head"
        aria-expanded={open}
        data-testid={`${props.testId}-toggle`}
        onClick={toggle}
      >
        <span className="nbp-Caret">{open ? '▾' : '▸'}</span>
        <span
          className="nbp-Item-name"
          data-testid={props.nameTestId ?? `${props.testId}-name`}
        >
          {props.name}
        </span>
        {props.badges}
      </button>
      {props.children}
      {open && (
        <div
          className="nbp-Detail"
          data-testid={props.detailTestId ?? `${props.testId}-detail`}
        >
          {props.detail()}
        </div>
      )}
    </li>
  );
}

/**
 * The items of a paged resource: its error, a placeholder while loading or
 * when empty, the list, and a More button while there are more pages.
 */
export function PagedList<T>(props: {
  resource: IPagedResource<T, IPage<T>>;
  /** One `<li>` (with its key) per item. */
  children: (item: T) => React.ReactNode;
  /** Shown when the list is loaded and empty. */
  empty?: React.ReactNode;
  /** Shown before the first page came. */
  loading?: React.ReactNode;
  /** Another error to show in the resource's place (one loaded with it). */
  error?: string | null;
  moreTestId?: string;
}): JSX.Element {
  const { items, hasMore, loadingMore, loadMore } = props.resource;
  const error = props.resource.error ?? props.error ?? null;
  return (
    <>
      <ErrorLine message={error} />
      {items === null && !error && props.loading}
      {items !== null && items.length === 0 && !error && props.empty}
      <ul className="nbp-List">{(items ?? []).map(props.children)}</ul>
      {hasMore && (
        <SmallButton
          label="More"
          testId={props.moreTestId}
          disabled={loadingMore}
          onClick={loadMore}
        />
      )}
    </>
  );
}
