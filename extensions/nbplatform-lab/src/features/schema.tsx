import * as React from 'react';

import { columnSummary, Distribution } from './plots';
import { featureRef } from './snippets';
import type { IColumnStats, IFeatureView, IViewStats } from './types';

/**
 * One row of a schema table: a feature, with its statistics when known.
 */
export interface IFeatureRow {
  /** What selecting the row selects (a `view:feature` reference). */
  ref: string;
  /** What the row shows as the feature's name. */
  label: string;
  dtype: string | null;
  column?: IColumnStats;
}

/**
 * The rows of a view's schema: its features with their types and statistics.
 */
export function viewRows(
  view: IFeatureView,
  stats: IViewStats | null | undefined
): IFeatureRow[] {
  const columns = new Map((stats?.columns ?? []).map(c => [c.name, c]));
  return view.features.map(feature => ({
    ref: featureRef(view.name, feature.name),
    label: feature.name,
    dtype: feature.dtype,
    column: columns.get(feature.name)
  }));
}

/**
 * The features of a view or service with checkboxes: each with its name and
 * type, then its distribution and a line of statistics below (the sidebar is
 * narrow); a checkbox in the head selects all or none.
 */
export function FeatureTable(props: {
  rows: IFeatureRow[];
  selected: ReadonlySet<string>;
  onChange: (selected: Set<string>) => void;
  /** Whether to draw the distributions (false where no statistics exist). */
  plots?: boolean;
}): JSX.Element {
  const { rows, selected, onChange } = props;
  const all = rows.length > 0 && rows.every(r => selected.has(r.ref));
  const toggle = (ref: string, on: boolean): void => {
    const next = new Set(selected);
    if (on) {
      next.add(ref);
    } else {
      next.delete(ref);
    }
    onChange(next);
  };
  return (
    <div className="nbp-FeatureTable" data-testid="nbp-feature-schema">
      <label className="nbp-FeatureTable-head nbp-Muted">
        <input
          type="checkbox"
          data-testid="nbp-feature-select-all"
          checked={all}
          onChange={event =>
            onChange(new Set(event.target.checked ? rows.map(r => r.ref) : []))
          }
        />
        all {rows.length} feature{rows.length === 1 ? '' : 's'}
      </label>
      <ul className="nbp-List">
        {rows.map(row => (
          <li
            key={row.ref}
            className="nbp-FeatureTable-row"
            data-testid="nbp-feature-row"
            data-feature={row.ref}
          >
            <label className="nbp-FeatureTable-name">
              <input
                type="checkbox"
                aria-label={`Select ${row.ref}`}
                data-testid="nbp-feature-select"
                checked={selected.has(row.ref)}
                onChange={event => toggle(row.ref, event.target.checked)}
              />
              <code data-testid="nbp-feature-name">{row.label}</code>
              <span className="nbp-Muted" data-testid="nbp-feature-dtype">
                {row.dtype ?? '—'}
              </span>
            </label>
            {props.plots !== false && row.column && (
              <div className="nbp-FeatureTable-plot">
                <Distribution column={row.column} />
                <span className="nbp-Muted nbp-FeatureTable-stats">
                  {columnSummary(row.column)}
                </span>
              </div>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
