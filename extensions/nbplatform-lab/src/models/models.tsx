import * as React from 'react';

import { may, rolesGranting } from '../common/api';
import {
  formatTime,
  SmallButton,
  StatusBadge,
  usePlatform
} from '../common/common';
import { ListItem, PagedList } from '../common/ListItem';
import { Section } from '../common/sections';
import { IPage } from '../common/usePagedResource';
import { pageOf, usePanelResource } from '../common/usePanelResource';
import { AuditLog } from './audit';
import { openModelDetail } from './detail';
import { aliasBadgeText, decidable, inboxCountText } from './format';
import { PromotionInbox } from './inbox';
import { MlflowLink, NotebookLineage, Provenance, ShortPath } from './lineage';
import { MetricHistoryView, MetricsTable } from './metrics';
import {
  CAN_APPROVE,
  CAN_READ_AUDIT,
  editorsLine,
  getModel,
  IModelDetail,
  IModelPermissions,
  IModelVersion,
  IPromotion,
  IRegisteredModel,
  listPromotions,
  searchModels,
  provenanceOf,
  TAG_NOTEBOOK,
  TAG_USER,
  tagValue,
  versionMetrics
} from './modelsApi';
import { PromotionList, useCanApprove } from './promotions';
import { ReplayControl } from './replay';

/**
 * Registered models: search, pages, versions, aliases, lineage and promotions.
 */
export function ModelsSection(): JSX.Element {
  const [search, setSearch] = React.useState('');
  // Bumped by the user's reloads and decisions: open models refresh with the list.
  const [stamp, setStamp] = React.useState(0);
  const reload = React.useCallback(() => setStamp(s => s + 1), []);

  const models = usePanelResource<IRegisteredModel>({
    fetchPage: async token =>
      pageOf(await searchModels(search, token), 'registered_models'),
    keyOf: model => model.name,
    query: search,
    debounceMs: 250,
    reloadOn: stamp
  });
  const pending = usePanelResource<IPromotion>({
    fetchPage: async token =>
      pageOf(await listPromotions('pending', null, token), 'promotions'),
    keyOf: promotion => String(promotion.id),
    reloadOn: stamp
  });

  const { me } = usePlatform();
  const canApprove = useCanApprove();
  const toDecide = (pending.items ?? []).filter(p => decidable(p, me)).length;

  return (
    <Section
      id="models"
      title="Models"
      badge={
        canApprove &&
        toDecide > 0 && (
          <span
            className="nbp-Pending nbp-InboxCount"
            data-testid="nbp-inbox-count"
            data-count={toDecide}
            title="Promotion requests waiting for your decision"
          >
            {inboxCountText(toDecide, pending.hasMore)}
          </span>
        )
      }
    >
      {canApprove && (
        <PromotionInbox pending={pending} me={me} onDecided={reload} />
      )}
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
      <PagedList
        resource={models}
        error={pending.error}
        moreTestId="nbp-models-more"
        loading={
          <div className="nbp-Muted" data-testid="nbp-models-loading">
            Loading models…
          </div>
        }
        empty={
          <p className="nbp-Placeholder" data-testid="nbp-models-empty">
            {search ? 'No model matches.' : 'No registered model yet.'}
          </p>
        }
      >
        {model => (
          <ModelItem
            key={model.name}
            model={model}
            pending={(pending.items ?? []).filter(p => p.model === model.name)}
            stamp={stamp}
            onChanged={reload}
          />
        )}
      </PagedList>
      {may(me, CAN_READ_AUDIT) && <AuditLog />}
    </Section>
  );
}

/**
 * What a model's item and its details share.
 */
interface IModelContext {
  /** The model's pending promotion requests. */
  pending: IPromotion[];
  /** Bumped by reloads of the list: the details refresh too. */
  stamp: number;
  /** Called after a decision on a promotion. */
  onChanged: () => void;
}

/**
 * One registered model; expands to its versions and pending promotions.
 */
function ModelItem(
  props: IModelContext & { model: IRegisteredModel }
): JSX.Element {
  const { model, ...shared } = props;
  const { pending } = shared;
  const platform = usePlatform();
  const latest = model.latest_versions?.reduce<string | null>(
    (max, v) =>
      max === null || Number(v.version) > Number(max) ? v.version : max,
    null
  );

  return (
    <ListItem
      testId="nbp-model"
      data={{ 'data-model': model.name }}
      name={model.name}
      badges={
        <>
          {latest && <span className="nbp-Muted"> v{latest}</span>}
          {(model.aliases ?? []).map(a => (
            <AliasBadge key={a.alias} alias={a.alias} version={a.version} />
          ))}
          {pending.length > 0 && (
            <span className="nbp-Pending" data-testid="nbp-pending-count">
              {pending.length} pending
            </span>
          )}
        </>
      }
      detail={() => <ModelDetail name={model.name} {...shared} />}
    >
      <div className="nbp-ModelLine">
        {model.description ? (
          <div className="nbp-Description" data-testid="nbp-model-description">
            {model.description}
          </div>
        ) : (
          <span />
        )}
        <SmallButton
          label="Details"
          title={`Compare the versions of ${model.name}`}
          testId="nbp-model-details"
          onClick={() => openModelDetail(platform, model.name)}
        />
      </div>
    </ListItem>
  );
}

/**
 * An alias, with the version it points at when given (`@champion → v3`).
 */
function AliasBadge(props: { alias: string; version?: string }): JSX.Element {
  return (
    <span
      className={`nbp-Alias nbp-Alias-${props.alias === 'champion' ? 'champion' : 'other'}`}
      data-testid="nbp-alias"
      data-alias={props.alias}
      data-version={props.version}
      title={
        props.version
          ? `@${props.alias} points at version ${props.version}`
          : `@${props.alias}`
      }
    >
      {aliasBadgeText(props.alias, props.version)}
    </span>
  );
}

/** A page of a model's versions, with the model and its permissions. */
interface IVersionPage extends IPage<IModelVersion> {
  detail: IModelDetail;
}

function ModelDetail(props: IModelContext & { name: string }): JSX.Element {
  const { name, pending, stamp, onChanged } = props;
  const versions = usePanelResource<IModelVersion, IVersionPage>({
    fetchPage: async token => {
      const detail = await getModel(name, token);
      return {
        items: detail.model_versions,
        next: detail.next_page_token ?? null,
        detail
      };
    },
    keyOf: version => version.version,
    query: name,
    reloadOn: stamp
  });
  const detail = versions.first?.detail ?? null;

  return (
    <>
      <PromotionList promotions={pending} onDecided={onChanged} />
      {detail?.permissions && <Permissions permissions={detail.permissions} />}
      {detail && (
        <div className="nbp-Subtitle">
          Versions{' '}
          <MlflowLink
            label="open in MLflow"
            fragment={`#/models/${encodeURIComponent(name)}`}
            testId="nbp-model-mlflow-link"
          />
        </div>
      )}
      <PagedList
        resource={versions}
        loading={
          <div className="nbp-Muted" data-testid="nbp-model-versions-loading">
            Loading versions…
          </div>
        }
        empty={
          <p className="nbp-Placeholder" data-testid="nbp-model-versions-empty">
            No version yet.
          </p>
        }
        moreTestId="nbp-model-versions-more"
      >
        {v => (
          <VersionItem
            key={v.version}
            model={name}
            version={v}
            aliases={detail ? versionAliases(detail.registered_model, v) : []}
          />
        )}
      </PagedList>
    </>
  );
}

/**
 * Who owns a model, who may edit it, and what the signed-in user may do.
 */
function Permissions(props: { permissions: IModelPermissions }): JSX.Element {
  const { permissions } = props;
  const { me } = usePlatform();
  return (
    <div className="nbp-Muted" data-testid="nbp-model-permissions">
      <span data-testid="nbp-model-owner">
        owner {permissions.owner ?? 'none recorded (admins only)'}
      </span>
      {' · '}
      <span
        data-testid="nbp-model-editors"
        title="Ask the owner to grant EDIT: nbp.registry.grant(name, user=...)"
      >
        may edit: {editorsLine(permissions, rolesGranting(me, CAN_APPROVE))}
      </span>
      {' · '}
      <span data-testid="nbp-model-my-permission">
        you: {permissions.my_permission}
      </span>
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
  model: string;
  version: IModelVersion;
  aliases: string[];
}): JSX.Element {
  const { model, version, aliases } = props;
  const notebook = tagValue(version.tags, TAG_NOTEBOOK);
  const metrics = versionMetrics(version);
  const provenance = provenanceOf(version.tags);
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
      <MetricsTable metrics={metrics} />
      {version.run_id && (
        <MetricHistoryView model={model} version={version.version} />
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
      <Provenance provenance={provenance} />
      {provenance.jobRun && (
        <ReplayControl model={model} version={version.version} />
      )}
      {version.source && (
        <ShortPath
          label="source"
          path={version.source}
          testId="nbp-version-source"
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
