import * as React from 'react';

import { errorMessage } from './api';
import {
  ErrorLine,
  formatTime,
  SmallButton,
  StatusBadge,
  useInterval,
  usePlatform
} from './common';
import { MlflowLink, NotebookLineage } from './lineage';
import {
  editorsLine,
  getModel,
  IModelDetail,
  IModelVersion,
  IPromotion,
  IRegisteredModel,
  listPromotions,
  searchModels,
  TAG_NOTEBOOK,
  TAG_USER,
  tagValue,
  versionMetrics
} from './modelsApi';
import { PromotionList } from './promotions';
import { Section } from './sections';

/** How often the panel refreshes while it is on screen. */
const REFRESH_MS = 15_000;

interface IModelsState {
  models: IRegisteredModel[];
  nextToken: string | null;
  pending: IPromotion[];
  error: string | null;
  loading: boolean;
}

/**
 * Registered models: search, pages, versions, aliases, lineage and promotions.
 */
export function ModelsSection(): JSX.Element {
  const { visible } = usePlatform();
  const [search, setSearch] = React.useState('');
  const [generation, setGeneration] = React.useState(0);
  const [state, setState] = React.useState<IModelsState>({
    models: [],
    nextToken: null,
    pending: [],
    error: null,
    loading: true
  });
  const reload = React.useCallback(() => setGeneration(g => g + 1), []);

  // The first page for the current search (again on each reload).
  React.useEffect(() => {
    let current = true;
    const timer = window.setTimeout(() => {
      Promise.all([searchModels(search, null), listPromotions('pending')])
        .then(([page, promotions]) => {
          if (current) {
            setState({
              models: page.registered_models ?? [],
              nextToken: page.next_page_token ?? null,
              pending: promotions.promotions,
              error: null,
              loading: false
            });
          }
        })
        .catch((error: unknown) => {
          if (current) {
            setState(s => ({
              ...s,
              error: errorMessage(error),
              loading: false
            }));
          }
        });
    }, 250);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [search, generation]);

  useInterval(reload, REFRESH_MS, visible);

  const more = async (): Promise<void> => {
    try {
      const page = await searchModels(search, state.nextToken);
      setState(s => ({
        ...s,
        models: [...s.models, ...(page.registered_models ?? [])],
        nextToken: page.next_page_token ?? null
      }));
    } catch (error) {
      setState(s => ({ ...s, error: errorMessage(error) }));
    }
  };

  return (
    <Section id="models" title="Models">
      <div className="nbp-Toolbar">
        <input
          type="search"
          className="nbp-Search"
          placeholder="Search models"
          aria-label="Search models"
          data-testid="nbp-model-search"
          value={search}
          onChange={event => setSearch(event.target.value)}
        />
        <SmallButton label="↻" title="Refresh models" onClick={reload} />
        <MlflowLink label="MLflow" />
      </div>
      <ErrorLine message={state.error} />
      {!state.loading && state.models.length === 0 && !state.error && (
        <p className="nbp-Placeholder" data-testid="nbp-models-empty">
          {search ? 'No model matches.' : 'No registered model yet.'}
        </p>
      )}
      <ul className="nbp-List">
        {state.models.map(model => (
          <ModelItem
            key={model.name}
            model={model}
            pending={state.pending.filter(p => p.model === model.name)}
            generation={generation}
            onChanged={reload}
          />
        ))}
      </ul>
      {state.nextToken && (
        <SmallButton
          label="More"
          testId="nbp-models-more"
          onClick={() => void more()}
        />
      )}
    </Section>
  );
}

/**
 * One registered model; expands to its versions and pending promotions.
 */
function ModelItem(props: {
  model: IRegisteredModel;
  pending: IPromotion[];
  generation: number;
  onChanged: () => void;
}): JSX.Element {
  const { model, pending, generation, onChanged } = props;
  const [open, setOpen] = React.useState(false);
  const latest = model.latest_versions?.reduce<string | null>(
    (max, v) =>
      max === null || Number(v.version) > Number(max) ? v.version : max,
    null
  );

  return (
    <li className="nbp-Item" data-testid="nbp-model" data-model={model.name}>
      <button
        type="button"
        className="nbp-Item-head"
        aria-expanded={open}
        data-testid="nbp-model-toggle"
        onClick={() => setOpen(o => !o)}
      >
        <span className="nbp-Caret">{open ? '▾' : '▸'}</span>
        <span className="nbp-Item-name" data-testid="nbp-model-name">
          {model.name}
        </span>
        {latest && <span className="nbp-Muted"> v{latest}</span>}
        {(model.aliases ?? []).map(a => (
          <AliasBadge key={a.alias} alias={a.alias} version={a.version} />
        ))}
        {pending.length > 0 && (
          <span className="nbp-Pending" data-testid="nbp-pending-count">
            {pending.length} pending
          </span>
        )}
      </button>
      {model.description && (
        <div className="nbp-Description" data-testid="nbp-model-description">
          {model.description}
        </div>
      )}
      {open && (
        <ModelDetail
          name={model.name}
          pending={pending}
          generation={generation}
          onChanged={onChanged}
        />
      )}
    </li>
  );
}

function AliasBadge(props: { alias: string; version?: string }): JSX.Element {
  return (
    <span
      className={`nbp-Alias nbp-Alias-${props.alias === 'champion' ? 'champion' : 'other'}`}
      data-testid="nbp-alias"
      data-alias={props.alias}
      title={props.version ? `${props.alias} → v${props.version}` : props.alias}
    >
      @{props.alias}
    </span>
  );
}

function ModelDetail(props: {
  name: string;
  pending: IPromotion[];
  generation: number;
  onChanged: () => void;
}): JSX.Element {
  const { name, pending, generation, onChanged } = props;
  const [detail, setDetail] = React.useState<IModelDetail | null>(null);
  const [error, setError] = React.useState<string | null>(null);

  React.useEffect(() => {
    let current = true;
    getModel(name)
      .then(d => current && setDetail(d))
      .catch((e: unknown) => current && setError(errorMessage(e)));
    return () => {
      current = false;
    };
  }, [name, generation]);

  return (
    <div className="nbp-Detail" data-testid="nbp-model-detail">
      <ErrorLine message={error} />
      <PromotionList promotions={pending} onDecided={onChanged} />
      {detail === null && !error && <div className="nbp-Muted">Loading…</div>}
      {detail && (
        <>
          {detail.permissions && (
            <div className="nbp-Muted" data-testid="nbp-model-permissions">
              <span data-testid="nbp-model-owner">
                owner{' '}
                {detail.permissions.owner ?? 'none recorded (admins only)'}
              </span>
              {' · '}
              <span
                data-testid="nbp-model-editors"
                title="Ask the owner to grant EDIT: nbp.registry.grant(name, user=...)"
              >
                may edit: {editorsLine(detail.permissions)}
              </span>
              {' · '}
              <span data-testid="nbp-model-my-permission">
                you: {detail.permissions.my_permission}
              </span>
            </div>
          )}
          <div className="nbp-Subtitle">
            Versions{' '}
            <MlflowLink
              label="open in MLflow"
              fragment={`#/models/${encodeURIComponent(name)}`}
              testId="nbp-model-mlflow-link"
            />
          </div>
          <ul className="nbp-List">
            {detail.model_versions.map(v => (
              <VersionItem
                key={v.version}
                version={v}
                aliases={versionAliases(detail.registered_model, v)}
              />
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/**
 * The aliases pointing at `version` (MLflow's version search leaves them out,
 * the registered model has them all).
 */
function versionAliases(
  model: IRegisteredModel,
  version: IModelVersion
): string[] {
  const fromModel = (model.aliases ?? [])
    .filter(a => a.version === version.version)
    .map(a => a.alias);
  return [...new Set([...(version.aliases ?? []), ...fromModel])].sort();
}

function VersionItem(props: {
  version: IModelVersion;
  aliases: string[];
}): JSX.Element {
  const { version, aliases } = props;
  const notebook = tagValue(version.tags, TAG_NOTEBOOK);
  const metrics = versionMetrics(version);
  return (
    <li
      className="nbp-Version"
      data-testid="nbp-model-version"
      data-version={version.version}
    >
      <div>
        <b>v{version.version}</b>{' '}
        {aliases.map(alias => (
          <AliasBadge key={alias} alias={alias} />
        ))}{' '}
        {version.status && version.status !== 'READY' && (
          <StatusBadge status={version.status.toLowerCase()} />
        )}
        <span className="nbp-Muted">
          {' '}
          {formatTime(version.creation_timestamp)}
          {version.user_id ? ` · ${version.user_id}` : ''}
        </span>
      </div>
      {metrics.length > 0 && (
        <div className="nbp-Metrics" data-testid="nbp-metrics">
          {metrics.slice(0, 4).map(([key, value]) => (
            <span key={key} className="nbp-Metric">
              {key} {Number.isFinite(value) ? value.toPrecision(4) : value}
            </span>
          ))}
        </div>
      )}
      {version.description && (
        <div className="nbp-Description" data-testid="nbp-version-description">
          {version.description}
        </div>
      )}
      {notebook && (
        <NotebookLineage
          path={notebook}
          owner={tagValue(version.tags, TAG_USER)}
        />
      )}
      {version.run_id && (
        <div className="nbp-Muted" data-testid="nbp-run-id">
          run {version.run_id.slice(0, 8)}
        </div>
      )}
    </li>
  );
}
