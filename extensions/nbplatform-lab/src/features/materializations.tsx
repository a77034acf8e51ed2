import { Notification } from '@jupyterlab/apputils';
import * as React from 'react';

import { errorMessage } from '../common/api';
import { formatTime, StatusBadge, usePlatform } from '../common/common';
import { PagedList } from '../common/ListItem';
import { pageOf, usePanelResource } from '../common/usePanelResource';
import { FINAL_STATUSES } from '../jobs/jobsApi';
import { openRunOutput } from '../jobs/runOutput';
import { getRun, listMaterializations } from './featuresApi';
import type { IMaterialization } from './types';

/**
 * The last materialization of a view, in one line.
 */
export function LastRun(props: { run: IMaterialization }): JSX.Element {
  const { run } = props;
  return (
    <div
      className="nbp-Muted nbp-FeatureRun"
      data-testid="nbp-feature-last-run"
      title={run.error ?? undefined}
    >
      last run{' '}
      <StatusBadge status={run.status} testId="nbp-feature-run-status" />{' '}
      {formatTime(run.finished_at ?? run.started_at)} by {run.started_by}
      {run.run_id && <JobRunLink runId={run.run_id} />}
    </div>
  );
}

/**
 * The job run a materialization ran in: opens its output notebook, as the
 * Jobs panel's Output button does.
 */
function JobRunLink(props: { runId: string }): JSX.Element {
  const { app } = usePlatform();
  const open = async (): Promise<void> => {
    try {
      const run = await getRun(props.runId);
      if (!FINAL_STATUSES.has(run.status)) {
        Notification.info(
          `The job run is ${run.status}; its output opens once it ended.`,
          { autoClose: 5000 }
        );
        return;
      }
      await openRunOutput(app, run.job_name ?? run.job_id, run);
    } catch (error) {
      Notification.error(`Job run: ${errorMessage(error)}`, {
        autoClose: 8000
      });
    }
  };
  return (
    <>
      {' · '}
      <button
        type="button"
        className="nbp-LinkButton"
        data-testid="nbp-feature-job-run"
        data-run-id={props.runId}
        title="Open the output of the job run that materialized it"
        onClick={event => {
          event.stopPropagation();
          void open();
        }}
      >
        job run {props.runId.slice(0, 8)}
      </button>
    </>
  );
}

/**
 * The newest materializations of a view.
 */
export function MaterializationList(props: {
  view: string;
  stamp: string;
}): JSX.Element {
  const runs = usePanelResource<IMaterialization>({
    fetchPage: async token =>
      pageOf(await listMaterializations(props.view, token), 'materializations'),
    keyOf: m => m.id,
    query: props.view,
    pollMs: null,
    isLive: m => m.status === 'running',
    liveMs: 3_000,
    reloadOn: props.stamp
  });
  return (
    <PagedList
      resource={runs}
      moreTestId="nbp-feature-materializations-more"
      empty={<div className="nbp-Muted">Never materialized.</div>}
    >
      {m => (
        <li
          key={m.id}
          className="nbp-Run"
          data-testid="nbp-feature-materialization"
          data-status={m.status}
          title={m.error ?? undefined}
        >
          <StatusBadge status={m.status} />
          <span className="nbp-Muted nbp-Run-time">
            {m.start ? `${formatTime(m.start)} → ` : 'up to '}
            {formatTime(m.end)}
            {m.incremental ? ' (incremental)' : ''} · {m.started_by}
            {m.run_id && <JobRunLink runId={m.run_id} />}
          </span>
          {m.error && (
            <div className="nbp-Error nbp-Run-error">
              {m.error.split('\n')[0]}
            </div>
          )}
        </li>
      )}
    </PagedList>
  );
}
