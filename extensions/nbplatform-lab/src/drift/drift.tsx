import * as React from 'react';

import { errorMessage } from '../common/api';
import {
  askComment,
  ErrorLine,
  formatTime,
  SmallButton,
  usePlatform
} from '../common/common';
import { ListItem, PagedList } from '../common/ListItem';
import { Section } from '../common/sections';
import { pageOf, usePanelResource } from '../common/usePanelResource';
import { useFetched } from '../features/shared';
import { driftAlerts } from './alerts';
import {
  acknowledge,
  getCheck,
  getMonitor,
  listMonitors,
  mute,
  retrain,
  unmute,
  unwatch,
  watch
} from './driftApi';
import {
  formatNumber,
  formatShare,
  isMuted,
  rankColumns,
  statusOf,
  targetText
} from './format';
import { ImportanceChart, Sparkline, STATUS_COLORS } from './plots';
import { openReport } from './report';
import type { DriftStatus, ICheck, IMonitor } from './types';

/** The columns' table scrolls by itself in the narrow sidebar. */
const TABLE_SCROLL: React.CSSProperties = {
  maxWidth: '100%',
  overflowX: 'auto'
};
const TABLE: React.CSSProperties = {
  borderCollapse: 'collapse',
  fontSize: 'var(--jp-ui-font-size0)',
  whiteSpace: 'nowrap'
};

/**
 * Drift monitors: status, share of drifted columns over time, the latest
 * check's columns ranked by weighted drift, the model's SHAP importance, the
 * report, and acknowledge / mute / watch / retrain.
 */
export function DriftSection(): JSX.Element {
  const [stamp, setStamp] = React.useState(0);
  const [mine, setMine] = React.useState(false);
  const monitors = usePanelResource<IMonitor>({
    fetchPage: async token =>
      pageOf(await listMonitors(token, mine), 'monitors'),
    keyOf: monitor => monitor.name,
    query: mine ? 'mine' : 'all',
    reloadOn: stamp
  });
  const changed = React.useCallback(() => {
    setStamp(s => s + 1);
    void driftAlerts.refresh();
  }, []);
  // The sidebar's refresh mounts the section again: the alerts follow.
  React.useEffect(() => {
    void driftAlerts.refresh();
  }, []);

  return (
    <Section id="drift" title="Drift">
      <div className="nbp-Toolbar">
        <span className="nbp-Subtitle nbp-Toolbar-title">Monitors</span>
        <label className="nbp-Muted" title="Only monitors you own or watch">
          <input
            type="checkbox"
            data-testid="nbp-drift-mine"
            checked={mine}
            onChange={event => setMine(event.target.checked)}
          />{' '}
          mine
        </label>
        <SmallButton
          label="↻"
          title="Refresh drift monitors"
          testId="nbp-drift-refresh"
          onClick={changed}
        />
      </div>
      <PagedList
        resource={monitors}
        moreTestId="nbp-drift-more"
        loading={<div className="nbp-Muted">Loading…</div>}
        empty={
          <p className="nbp-Placeholder" data-testid="nbp-drift-empty">
            No drift monitor yet. Define one from a notebook with
            nbp.drift.check(..., monitor=...) or the REST API.
          </p>
        }
      >
        {monitor => (
          <MonitorItem
            key={monitor.name}
            monitor={monitor}
            stamp={stamp}
            onChanged={changed}
          />
        )}
      </PagedList>
    </Section>
  );
}

/**
 * A monitor's status as a colored badge.
 */
export function DriftBadge(props: { status: DriftStatus }): JSX.Element {
  const status = statusOf(props.status);
  return (
    <span
      className={`nbp-Status nbp-DriftStatus nbp-DriftStatus-${status}`}
      data-testid="nbp-drift-status"
      data-status={status}
      style={{ background: STATUS_COLORS[status] }}
    >
      {status}
    </span>
  );
}

function MonitorItem(props: {
  monitor: IMonitor;
  stamp: number;
  onChanged: () => void;
}): JSX.Element {
  const { monitor, stamp, onChanged } = props;
  const latest = monitor.latest_check;
  const key = [monitor.name, monitor.updated_at, latest?.id, stamp].join(' ');
  const { value: detail } = useFetched(() => getMonitor(monitor.name), key);
  const shown = detail ?? monitor;
  const muted = isMuted(shown, Date.now());
  return (
    <ListItem
      testId="nbp-drift-monitor"
      data={{ 'data-monitor': monitor.name, 'data-status': shown.status }}
      name={monitor.name}
      badges={
        <>
          <DriftBadge status={shown.status} />
          {muted && (
            <span
              className="nbp-Muted"
              data-testid="nbp-drift-muted"
              title={`Muted until ${formatTime(shown.muted_until)}`}
            >
              muted
            </span>
          )}
          {shown.acknowledged_by && (
            <span
              className="nbp-Muted"
              data-testid="nbp-drift-acknowledged"
              title={`Acknowledged by ${shown.acknowledged_by} at ${formatTime(shown.acknowledged_at)}`}
            >
              ack
            </span>
          )}
        </>
      }
      detailTestId="nbp-drift-monitor-detail"
      detail={() => (
        <MonitorDetail monitor={shown} stamp={stamp} onChanged={onChanged} />
      )}
    >
      <div className="nbp-Muted" data-testid="nbp-drift-summary">
        <span data-testid="nbp-drift-target">{targetText(shown)}</span>
        {' · owner '}
        {shown.owner}
        {latest && (
          <>
            {' · '}
            <span data-testid="nbp-drift-share">
              {latest.n_drifted}/{latest.n_columns} drifted (
              {formatShare(latest.drift_share)})
            </span>
          </>
        )}
      </div>
      {detail?.history && detail.history.length > 0 && (
        <Sparkline
          name={monitor.name}
          history={detail.history}
          threshold={shown.drift_share}
        />
      )}
      {shown.description && (
        <div className="nbp-Description" data-testid="nbp-drift-description">
          {shown.description}
        </div>
      )}
    </ListItem>
  );
}

function MonitorDetail(props: {
  monitor: IMonitor;
  stamp: number;
  onChanged: () => void;
}): JSX.Element {
  const { monitor, stamp, onChanged } = props;
  const latest = monitor.latest_check;
  const { value: check, error } = useFetched<ICheck | null>(
    () => (latest ? getCheck(latest.id) : Promise.resolve(null)),
    `${latest?.id ?? 'none'} ${stamp}`
  );
  return (
    <>
      <ErrorLine message={error} />
      <MonitorActions monitor={monitor} check={check} onChanged={onChanged} />
      {!latest && (
        <p className="nbp-Placeholder" data-testid="nbp-drift-no-check">
          No check yet.
        </p>
      )}
      {latest && !check && !error && <div className="nbp-Muted">Loading…</div>}
      {check && <CheckView check={check} />}
    </>
  );
}

function CheckView(props: { check: ICheck }): JSX.Element {
  const { check } = props;
  const columns = React.useMemo(
    () => rankColumns(check.columns),
    [check.columns]
  );
  const drifted = React.useMemo(
    () => new Set(check.columns.filter(c => c.drifted).map(c => c.column)),
    [check.columns]
  );
  return (
    <div
      className="nbp-DriftCheck"
      data-testid="nbp-drift-check"
      data-check={check.id}
    >
      <div className="nbp-Muted" data-testid="nbp-drift-check-facts">
        check {check.id} · {formatTime(check.created_at)} ·{' '}
        <DriftBadge status={check.status} /> · {check.n_drifted}/
        {check.n_columns} columns drifted ({formatShare(check.drift_share)};
        dataset drift at {formatShare(check.threshold_share)}) ·{' '}
        {check.reference_rows} reference / {check.current_rows} current rows
        {check.sampled_rows !== null && ` (${check.sampled_rows} sampled)`}
      </div>
      <div className="nbp-DriftColumns-scroll" style={TABLE_SCROLL}>
        <table
          className="nbp-DriftColumns"
          data-testid="nbp-drift-columns"
          style={TABLE}
        >
          <thead>
            <tr>
              <th>column</th>
              <th>method</th>
              <th>statistic</th>
              <th>threshold</th>
              <th>drifted</th>
              <th>importance</th>
              <th>weighted</th>
            </tr>
          </thead>
          <tbody>
            {columns.map(c => (
              <tr
                key={c.column}
                className={`nbp-DriftColumn${c.drifted ? ' nbp-DriftColumn-drifted' : ''}`}
                data-testid="nbp-drift-column"
                data-column={c.column}
                data-drifted={c.drifted ? 'true' : 'false'}
              >
                <td data-testid="nbp-drift-column-name">
                  <code>{c.column}</code>
                </td>
                <td data-testid="nbp-drift-column-method">{c.method}</td>
                <td>{formatNumber(c.statistic)}</td>
                <td>{formatNumber(c.threshold)}</td>
                <td
                  data-testid="nbp-drift-column-drifted"
                  style={c.drifted ? { color: 'var(--jp-error-color1)' } : {}}
                >
                  {c.drifted ? 'yes' : 'no'}
                </td>
                <td>{formatNumber(c.importance)}</td>
                <td data-testid="nbp-drift-column-weighted">
                  {formatNumber(c.weighted ?? c.score)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ImportanceChart
        importance={check.importance}
        modelVersion={check.model_version}
        drifted={drifted}
      />
    </div>
  );
}

function MonitorActions(props: {
  monitor: IMonitor;
  check: ICheck | null;
  onChanged: () => void;
}): JSX.Element {
  const { monitor, check, onChanged } = props;
  const { app, me } = usePlatform();
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const [started, setStarted] = React.useState<string | null>(null);
  const watching = me !== null && monitor.watchers.includes(me.name);
  const muted = isMuted(monitor, Date.now());
  const latest = monitor.latest_check;

  const act = (action: () => Promise<unknown>): void => {
    setBusy(true);
    setError(null);
    action()
      .then(() => onChanged())
      .catch((e: unknown) => setError(errorMessage(e)))
      .finally(() => setBusy(false));
  };

  return (
    <div className="nbp-DriftActions">
      <div className="nbp-Toolbar" style={{ flexWrap: 'wrap', gap: '2px' }}>
        {(monitor.status === 'warning' || monitor.status === 'drift') &&
          !monitor.acknowledged_by && (
            <SmallButton
              label="Acknowledge"
              testId="nbp-drift-acknowledge"
              disabled={busy}
              onClick={() =>
                act(async () => {
                  const comment = await askComment(
                    `Acknowledge ${monitor.name}`,
                    'A comment (optional):',
                    'Acknowledge'
                  );
                  if (comment !== null) {
                    await acknowledge(monitor.name, comment);
                  }
                })
              }
            />
          )}
        {muted ? (
          <SmallButton
            label="Unmute"
            testId="nbp-drift-unmute"
            disabled={busy}
            onClick={() => act(() => unmute(monitor.name))}
          />
        ) : (
          <>
            <SmallButton
              label="Mute 1 h"
              testId="nbp-drift-mute-1h"
              disabled={busy}
              onClick={() => act(() => mute(monitor.name, 60))}
            />
            <SmallButton
              label="Mute 24 h"
              testId="nbp-drift-mute-24h"
              disabled={busy}
              onClick={() => act(() => mute(monitor.name, 24 * 60))}
            />
          </>
        )}
        <SmallButton
          label={watching ? 'Unwatch' : 'Watch'}
          testId="nbp-drift-watch"
          disabled={busy}
          onClick={() =>
            act(() => (watching ? unwatch(monitor.name) : watch(monitor.name)))
          }
        />
        {monitor.retrain_job_id && (
          <SmallButton
            label="Retrain"
            kind="accept"
            testId="nbp-drift-retrain"
            title={`Run job ${monitor.retrain_job_id} on this drift`}
            disabled={busy}
            onClick={() =>
              act(async () => {
                setStarted(null);
                const answer = await retrain(monitor.name, latest?.id ?? null);
                setStarted(answer.run.id);
              })
            }
          />
        )}
        {check?.has_report && (
          <SmallButton
            label="Open report"
            testId="nbp-drift-open-report"
            onClick={() => openReport(app, monitor.name, check.id)}
          />
        )}
      </div>
      <ErrorLine message={error} />
      {started && (
        <div className="nbp-Muted" data-testid="nbp-drift-retrain-run">
          Retraining run <code>{started}</code> of job{' '}
          <code>{monitor.retrain_job_id}</code> started.
        </div>
      )}
      {monitor.muted_until && muted && (
        <div className="nbp-Muted">
          Muted until {formatTime(monitor.muted_until)}
        </div>
      )}
    </div>
  );
}
