import * as React from 'react';

import { ErrorLine, formatTime, SmallButton } from '../common/common';
import { ListItem, PagedList } from '../common/ListItem';
import { Section } from '../common/sections';
import { pageOf, usePanelResource } from '../common/usePanelResource';
import { getView, listServices, listViews } from './featuresApi';
import { entitiesText, formatTtl, freshnessText } from './format';
import { LastRun, MaterializationList } from './materializations';
import { viewRows } from './schema';
import { ServiceItem } from './services';
import { FeaturePicker, useFetched } from './shared';
import { joinKeysOf, snippetEventTime } from './snippets';
import type {
  IFeatureService,
  IFeatureView,
  IFeatureViewDetail,
  IFreshness
} from './types';

/**
 * Feature views (freshness, last materialization, schema, distributions) and
 * feature services, with code to use their features in a notebook.
 */
export function FeaturesSection(): JSX.Element {
  // Bumped by the refresh button: open views refresh with the list.
  const [stamp, setStamp] = React.useState(0);

  const views = usePanelResource<IFeatureView>({
    fetchPage: async token => pageOf(await listViews(token), 'feature_views'),
    keyOf: view => view.name,
    reloadOn: stamp
  });
  const services = usePanelResource<IFeatureService>({
    fetchPage: async token =>
      pageOf(await listServices(token), 'feature_services'),
    keyOf: service => service.name,
    reloadOn: stamp
  });

  return (
    <Section id="features" title="Features">
      <div className="nbp-Toolbar">
        <span className="nbp-Subtitle nbp-Toolbar-title">Feature views</span>
        <SmallButton
          label="↻"
          title="Refresh features"
          testId="nbp-features-refresh"
          onClick={() => setStamp(s => s + 1)}
        />
      </div>
      <PagedList
        resource={views}
        moreTestId="nbp-feature-views-more"
        loading={<div className="nbp-Muted">Loading…</div>}
        empty={
          <p className="nbp-Placeholder" data-testid="nbp-features-empty">
            No feature view yet. Apply a feature repo from a notebook with
            nbp.features.apply(...).
          </p>
        }
      >
        {view => <ViewItem key={view.name} view={view} stamp={stamp} />}
      </PagedList>
      <div className="nbp-Subtitle">Feature services</div>
      <PagedList
        resource={services}
        moreTestId="nbp-feature-services-more"
        empty={
          <p className="nbp-Placeholder" data-testid="nbp-services-empty">
            No feature service.
          </p>
        }
      >
        {service => (
          <ServiceItem key={service.name} service={service} stamp={stamp} />
        )}
      </PagedList>
    </Section>
  );
}

/**
 * How fresh the online values of a view are: `fresh · 5 min old`, `stale ·
 * 2 d old` or `never materialized`.
 */
export function FreshnessBadge(props: { freshness: IFreshness }): JSX.Element {
  const { freshness } = props;
  return (
    <span
      className={`nbp-Status nbp-Freshness nbp-Freshness-${freshness.status}`}
      data-testid="nbp-feature-freshness"
      data-status={freshness.status}
      title={`As of ${formatTime(freshness.checked_at)}`}
    >
      {freshnessText(freshness)}
    </span>
  );
}

function ViewItem(props: { view: IFeatureView; stamp: number }): JSX.Element {
  const { view, stamp } = props;
  const last = view.materialization?.last_run ?? null;
  return (
    <ListItem
      testId="nbp-feature-view"
      data={{
        'data-view': view.name,
        'data-freshness': view.freshness.status
      }}
      name={view.name}
      badges={
        <>
          <FreshnessBadge freshness={view.freshness} />
          {!view.online && (
            <span className="nbp-Muted" title="Not served online">
              offline only
            </span>
          )}
        </>
      }
      detail={() => <ViewDetail view={view} stamp={stamp} />}
    >
      <div className="nbp-Muted" data-testid="nbp-feature-view-summary">
        <span data-testid="nbp-feature-entities">
          {entitiesText(view.entities)}
        </span>
        {' · '}
        <span data-testid="nbp-feature-ttl">{formatTtl(view.ttl_seconds)}</span>
        {' · '}
        {view.features.length} feature{view.features.length === 1 ? '' : 's'}
      </div>
      {view.description && (
        <div className="nbp-Description" data-testid="nbp-feature-description">
          {view.description}
        </div>
      )}
      {last && <LastRun run={last} />}
    </ListItem>
  );
}

function ViewDetail(props: { view: IFeatureView; stamp: number }): JSX.Element {
  const { view, stamp } = props;
  const key = [
    view.name,
    view.updated_at,
    view.materialization?.end,
    view.materialization?.last_run?.status,
    stamp
  ].join(' ');
  const { value: detail, error } = useFetched(() => getView(view.name), key);
  const shown: IFeatureViewDetail = detail ?? view;
  const stats = detail?.stats ?? null;
  const rows = React.useMemo(() => viewRows(shown, stats), [shown, stats]);

  return (
    <>
      <ErrorLine message={error} />
      <ViewFacts view={shown} stats={detail ? stats : undefined} />
      <div className="nbp-Subtitle">Schema</div>
      <FeaturePicker
        rows={rows}
        initial={() => viewRows(view, null).map(r => r.ref)}
        plots={stats !== null}
        joinKeys={joinKeysOf(shown.entities, stats)}
        eventTime={snippetEventTime(stats, new Date())}
      />
      <div className="nbp-Subtitle">Materializations</div>
      <MaterializationList view={view.name} stamp={key} />
    </>
  );
}

/**
 * Where a view's rows come from, how many there are and over which time.
 */
function ViewFacts(props: {
  view: IFeatureViewDetail;
  stats: IFeatureViewDetail['stats'] | undefined;
}): JSX.Element {
  const { view, stats } = props;
  const source = view.source;
  const materialized = view.materialization;
  return (
    <div className="nbp-FeatureFacts">
      <div className="nbp-Muted" data-testid="nbp-feature-source">
        source <code>{source.name}</code> ({source.type})
        {source.path && (
          <>
            {' '}
            <code data-testid="nbp-feature-source-path">{source.path}</code>
          </>
        )}
        {source.timestamp_field && ` · event time ${source.timestamp_field}`}
      </div>
      {stats === undefined && <div className="nbp-Muted">Loading…</div>}
      {stats === null && (
        <div className="nbp-Muted" data-testid="nbp-feature-no-stats">
          no statistics of the source
        </div>
      )}
      {stats && (
        <div className="nbp-Muted">
          <span data-testid="nbp-feature-row-count">
            {stats.row_count} row{stats.row_count === 1 ? '' : 's'}
          </span>
          {' · events '}
          <span data-testid="nbp-feature-event-time">
            {formatTime(stats.event_time.min)} –{' '}
            {formatTime(stats.event_time.max)}
          </span>
        </div>
      )}
      <div className="nbp-Muted">
        {view.owner && `owner ${view.owner} · `}
        {materialized?.end
          ? `online up to ${formatTime(materialized.end)}`
          : 'not materialized'}
      </div>
    </div>
  );
}
