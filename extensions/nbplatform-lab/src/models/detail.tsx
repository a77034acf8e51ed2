import { MainAreaWidget, ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { errorMessage } from '../common/api';
import {
  IPlatformContext,
  PlatformContext,
  SmallButton,
  formatTime
} from '../common/common';
import {
  aliasBadgeText,
  compareRows,
  ellipsize,
  fromPairs,
  ICompareRow,
  initialSelection,
  metricRecord,
  tagRecord
} from './format';
import {
  getModel,
  IModelDetail,
  IModelVersion,
  TAG_NOTEBOOK,
  TAG_USER,
  provenanceOf,
  tagValue,
  versionMetrics
} from './modelsApi';
import { MetricHistoryView } from './metrics';

/** The most versions the detail view loads (pages of MLflow's search). */
const MAX_VERSIONS = 200;

/** The open detail views, by model: opening one again shows it. */
const openViews = new Map<string, MainAreaWidget<ReactWidget>>();

/**
 * Open (or show again) the main-area view of `model` comparing its versions.
 */
export function openModelDetail(
  context: IPlatformContext,
  model: string
): MainAreaWidget<ReactWidget> {
  const known = openViews.get(model);
  if (known && !known.isDisposed) {
    context.app.shell.activateById(known.id);
    return known;
  }
  const content = ReactWidget.create(
    <PlatformContext.Provider value={{ ...context, visible: true }}>
      <ModelComparison name={model} />
    </PlatformContext.Provider>
  );
  const widget = new MainAreaWidget({ content });
  widget.id = `nbp-model-detail-${Array.from(model, c =>
    /[A-Za-z0-9_-]/.test(c) ? c : `_${c.charCodeAt(0).toString(16)}`
  ).join('')}`;
  widget.title.label = `Model ${model}`;
  widget.title.caption = `Versions of the registered model ${model}`;
  widget.title.closable = true;
  widget.addClass('nbp-ModelDetailView');
  openViews.set(model, widget);
  widget.disposed.connect(() => {
    if (openViews.get(model) === widget) {
      openViews.delete(model);
    }
  });
  context.app.shell.add(widget, 'main');
  context.app.shell.activateById(widget.id);
  return widget;
}

type LoadState =
  | { status: 'loading' }
  | { status: 'error'; message: string }
  | { status: 'ready'; detail: IModelDetail; versions: IModelVersion[] };

/** Every version of `name` (up to MAX_VERSIONS), newest first. */
async function loadVersions(
  name: string
): Promise<{ detail: IModelDetail; versions: IModelVersion[] }> {
  const first = await getModel(name, null, 100);
  const versions = [...first.model_versions];
  let token = first.next_page_token ?? null;
  while (token && versions.length < MAX_VERSIONS) {
    const page = await getModel(name, token, 100);
    versions.push(...page.model_versions);
    token = page.next_page_token ?? null;
  }
  return { detail: first, versions };
}

/**
 * The aliases of each version (the registered model has them all).
 */
function aliasesOf(detail: IModelDetail, version: IModelVersion): string[] {
  const fromModel = (detail.registered_model.aliases ?? [])
    .filter(a => a.version === version.version)
    .map(a => a.alias);
  return [...new Set([...(version.aliases ?? []), ...fromModel])].sort();
}

/** What the lineage rows say about a version. */
function lineageRecord(version: IModelVersion): Record<string, string> {
  const provenance = provenanceOf(version.tags);
  const record: Record<string, string | undefined> = {
    notebook: tagValue(version.tags, TAG_NOTEBOOK),
    author: tagValue(version.tags, TAG_USER),
    commit: provenance.commit
      ? provenance.commit.full + (provenance.commit.dirty ? ' (dirty)' : '')
      : undefined,
    'job run': provenance.jobRun?.run,
    'registered by': provenance.registeredBy ?? version.user_id,
    run: version.run_id || undefined,
    source: version.source || undefined,
    created: version.creation_timestamp
      ? formatTime(version.creation_timestamp)
      : undefined
  };
  return fromPairs(Object.entries(record));
}

/**
 * A model's versions side by side: pick versions, compare their aliases,
 * lineage, metrics, params and tags; differing rows are marked.
 */
export function ModelComparison(props: { name: string }): JSX.Element {
  const { name } = props;
  const [state, setState] = React.useState<LoadState>({ status: 'loading' });
  const [selected, setSelected] = React.useState<string[]>([]);
  const [onlyDiffering, setOnlyDiffering] = React.useState(false);
  const [generation, setGeneration] = React.useState(0);

  React.useEffect(() => {
    let current = true;
    setState({ status: 'loading' });
    loadVersions(name)
      .then(({ detail, versions }) => {
        if (!current) {
          return;
        }
        setState({ status: 'ready', detail, versions });
        setSelected(old => {
          const known = old.filter(v => versions.some(x => x.version === v));
          return known.length > 0 ? known : initialSelection(versions);
        });
      })
      .catch((error: unknown) => {
        if (current) {
          setState({ status: 'error', message: errorMessage(error) });
        }
      });
    return () => {
      current = false;
    };
  }, [name, generation]);

  const toggle = (version: string): void =>
    setSelected(old =>
      old.includes(version)
        ? old.filter(v => v !== version)
        : [...old, version].sort((a, b) => Number(a) - Number(b))
    );

  return (
    <div className="nbp-ModelDetail" data-testid="nbp-model-detail-view">
      <div className="nbp-ModelDetail-head">
        <h2 data-testid="nbp-model-detail-name">{name}</h2>
        <SmallButton
          label="↻"
          title="Reload the versions"
          testId="nbp-model-detail-reload"
          onClick={() => setGeneration(g => g + 1)}
        />
      </div>
      {state.status === 'loading' && (
        <p className="nbp-Placeholder" data-testid="nbp-model-detail-loading">
          Loading versions…
        </p>
      )}
      {state.status === 'error' && (
        <div className="nbp-Error" role="alert" data-testid="nbp-panel-error">
          {state.message}
        </div>
      )}
      {state.status === 'ready' && (
        <>
          {state.detail.registered_model.description && (
            <p
              className="nbp-Description"
              data-testid="nbp-model-detail-description"
            >
              {state.detail.registered_model.description}
            </p>
          )}
          {state.versions.length === 0 ? (
            <p className="nbp-Placeholder" data-testid="nbp-model-detail-empty">
              This model has no version yet.
            </p>
          ) : (
            <>
              <fieldset
                className="nbp-VersionPicker"
                data-testid="nbp-compare-picker"
              >
                <legend>Compare versions</legend>
                {state.versions.map(v => (
                  <label key={v.version} className="nbp-VersionPicker-item">
                    <input
                      type="checkbox"
                      data-testid="nbp-compare-version"
                      data-version={v.version}
                      checked={selected.includes(v.version)}
                      onChange={() => toggle(v.version)}
                    />
                    v{v.version}
                    {aliasesOf(state.detail, v).map(a => (
                      <span key={a} className="nbp-Muted">
                        {' '}
                        @{a}
                      </span>
                    ))}
                  </label>
                ))}
                <label className="nbp-VersionPicker-item">
                  <input
                    type="checkbox"
                    data-testid="nbp-compare-only-differing"
                    checked={onlyDiffering}
                    onChange={() => setOnlyDiffering(!onlyDiffering)}
                  />
                  only rows that differ
                </label>
              </fieldset>
              <Comparison
                name={name}
                detail={state.detail}
                versions={selected
                  .map(v => state.versions.find(x => x.version === v))
                  .filter((v): v is IModelVersion => v !== undefined)}
                onlyDiffering={onlyDiffering}
              />
            </>
          )}
        </>
      )}
    </div>
  );
}

function Comparison(props: {
  name: string;
  detail: IModelDetail;
  versions: IModelVersion[];
  onlyDiffering: boolean;
}): JSX.Element {
  const { name, detail, versions, onlyDiffering } = props;
  if (versions.length === 0) {
    return (
      <p className="nbp-Placeholder" data-testid="nbp-compare-none">
        Pick one or more versions to compare.
      </p>
    );
  }
  const groups: [string, ICompareRow[]][] = [
    [
      'Aliases',
      compareRows(
        versions.map(v =>
          fromPairs(aliasesOf(detail, v).map(a => [`@${a}`, 'yes'] as const))
        )
      )
    ],
    ['Lineage', compareRows(versions.map(lineageRecord))],
    [
      'Metrics',
      compareRows(versions.map(v => metricRecord(versionMetrics(v))))
    ],
    ['Params', compareRows(versions.map(v => v.params ?? {}))],
    ['Tags', compareRows(versions.map(v => tagRecord(v.tags)))]
  ];
  return (
    <div className="nbp-CompareWrap">
      <table
        className="nbp-CompareTable"
        data-testid="nbp-compare-table"
        data-versions={versions.map(v => v.version).join(',')}
      >
        <thead>
          <tr>
            <th scope="col" />
            {versions.map(v => (
              <th
                scope="col"
                key={v.version}
                data-testid="nbp-compare-column"
                data-version={v.version}
              >
                v{v.version}
                {aliasesOf(detail, v).map(a => (
                  <span
                    key={a}
                    className={`nbp-Alias nbp-Alias-${a === 'champion' ? 'champion' : 'other'}`}
                    data-testid="nbp-alias"
                    data-alias={a}
                  >
                    {aliasBadgeText(a, v.version)}
                  </span>
                ))}
              </th>
            ))}
          </tr>
        </thead>
        {groups.map(([title, rows]) => {
          const shown = onlyDiffering ? rows.filter(r => r.differs) : rows;
          return (
            <tbody
              key={title}
              data-testid="nbp-compare-group"
              data-group={title.toLowerCase()}
            >
              <tr className="nbp-CompareTable-group">
                <th scope="rowgroup" colSpan={versions.length + 1}>
                  {title}
                </th>
              </tr>
              {shown.length === 0 && (
                <tr>
                  <td
                    className="nbp-Muted"
                    colSpan={versions.length + 1}
                    data-testid="nbp-compare-group-empty"
                  >
                    {rows.length === 0 ? 'none' : 'no difference'}
                  </td>
                </tr>
              )}
              {shown.map(row => (
                <tr
                  key={row.key}
                  data-testid="nbp-compare-row"
                  data-key={row.key}
                  data-differs={row.differs ? 'true' : 'false'}
                  className={
                    row.differs ? 'nbp-CompareTable-differs' : undefined
                  }
                >
                  <th scope="row" title={row.key}>
                    {ellipsize(row.key, 40)}
                  </th>
                  {row.values.map((value, i) => (
                    <td
                      key={versions[i].version}
                      data-version={versions[i].version}
                      title={value}
                    >
                      {value === undefined ? '—' : ellipsize(value, 60)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          );
        })}
        <tbody data-testid="nbp-compare-group" data-group="steps">
          <tr className="nbp-CompareTable-group">
            <th scope="rowgroup" colSpan={versions.length + 1}>
              Metrics over steps
            </th>
          </tr>
          <tr>
            <td />
            {versions.map(v => (
              <td key={v.version}>
                <MetricHistoryView model={name} version={v.version} />
              </td>
            ))}
          </tr>
        </tbody>
      </table>
    </div>
  );
}
