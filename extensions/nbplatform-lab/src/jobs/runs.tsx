import { Notification } from '@jupyterlab/apputils';
import * as React from 'react';

import { errorMessage } from '../common/api';
import {
  formatDuration,
  formatTime,
  showTextDialog,
  SmallButton,
  StatusBadge,
  usePlatform
} from '../common/common';
import { PagedList } from '../common/ListItem';
import { usePagedResource } from '../common/usePagedResource';
import { IRunFocus } from './focus';
import { jobPermissions } from './format';
import { FINAL_STATUSES, IJob, IRun, listJobRuns, runLog } from './jobsApi';
import { downloadRunHtml, openRunOutput } from './runOutput';

/** How often jobs and runs that are still changing refresh while on screen. */
export const POLL_MS = 3_000;

/**
 * Run an action on a job and tell the user when it fails.
 */
export async function act(what: string, action: () => Promise<unknown>) {
  try {
    await action();
  } catch (error) {
    Notification.error(`${what}: ${errorMessage(error)}`, { autoClose: 8000 });
  }
}

/**
 * The newest runs of a job, refreshed every POLL_MS while one is queued or
 * running, and whenever the job's last run changes.
 */
export function RunHistory(props: {
  job: IJob;
  refresh: number;
  /** The run to scroll to and highlight ("Show in Jobs"), if it is of this job. */
  focus: IRunFocus | null;
  /** Called when the history knows more than the job's `last_run`. */
  onNewer: () => void;
}): JSX.Element {
  const { job, refresh, focus, onNewer } = props;
  const { visible } = usePlatform();
  const runs = usePagedResource<IRun>({
    fetchPage: async token => {
      const page = await listJobRuns(job.id, token);
      return { items: page.runs, next: page.next_page_token };
    },
    keyOf: run => run.id,
    query: job.id,
    pollMs: null,
    isLive: run => !FINAL_STATUSES.has(run.status),
    liveMs: POLL_MS,
    active: visible,
    reloadOn: `${refresh} ${job.last_run?.id} ${job.last_run?.status}`
  });

  const newest = runs.items?.[0];
  const latest = React.useRef({ job, onNewer });
  latest.current = { job, onNewer };
  React.useEffect(() => {
    const last = latest.current.job.last_run;
    if (newest && (newest.id !== last?.id || newest.status !== last.status)) {
      latest.current.onNewer();
    }
  }, [newest?.id, newest?.status]);

  return (
    <PagedList
      resource={runs}
      moreTestId="nbp-runs-more"
      empty={<div className="nbp-Muted">No run yet.</div>}
    >
      {run => (
        <RunItem
          key={run.id}
          job={job}
          run={run}
          focus={focus?.runId === run.id ? focus.stamp : null}
        />
      )}
    </PagedList>
  );
}

function RunItem(props: {
  job: IJob;
  run: IRun;
  /** Set (a request's stamp) when asked to show this run: scrolled to, highlighted. */
  focus: number | null;
}): JSX.Element {
  const { job, run, focus } = props;
  const { app } = usePlatform();
  const permissions = jobPermissions(job);
  const node = React.useRef<HTMLLIElement>(null);
  React.useEffect(() => {
    if (focus !== null) {
      node.current?.scrollIntoView({ block: 'center', behavior: 'smooth' });
    }
  }, [focus]);
  const progress =
    run.status === 'running' && run.progress
      ? ` ${run.progress.cell}/${run.progress.total}`
      : run.progress?.failed
        ? ` at cell ${run.progress.cell}/${run.progress.total}`
        : '';
  const finished = FINAL_STATUSES.has(run.status);

  const showLog = async (): Promise<void> => {
    await act('Log', async () => {
      const answer = await runLog(run.id);
      const cut = answer.truncated
        ? `[The last ${answer.next_offset - answer.offset} of ${answer.size} bytes; ` +
          'nbplatform jobs logs <run> prints the whole log.]\n'
        : '';
      await showTextDialog(
        `Log of ${job.name}, run ${run.id.slice(0, 8)}`,
        cut + answer.log
      );
    });
  };

  return (
    <li
      ref={node}
      className={'nbp-Run' + (focus !== null ? ' nbp-Run-highlight' : '')}
      data-testid="nbp-run"
      data-run-id={run.id}
      data-status={run.status}
      data-highlighted={focus !== null ? 'true' : undefined}
      title={run.error ?? undefined}
    >
      <StatusBadge status={run.status} testId="nbp-run-status" />
      {progress && <span className="nbp-Muted">{progress}</span>}
      <span className="nbp-Muted nbp-Run-time">
        {formatTime(run.started_at ?? run.created_at)} ·{' '}
        {formatDuration(run.duration_seconds)}
      </span>
      <span className="nbp-Actions">
        {[
          {
            label: 'Output',
            title: 'Open a read-only copy of the executed notebook',
            open: () => openRunOutput(app, job.name, run)
          },
          {
            label: 'HTML',
            title: 'Download the executed notebook rendered as HTML',
            open: () => downloadRunHtml(job.name, run)
          }
        ].map(output => (
          <SmallButton
            key={output.label}
            label={output.label}
            testId={`nbp-run-${output.label.toLowerCase()}`}
            title={
              permissions.outputs
                ? output.title
                : (permissions.outputs_reason ?? undefined)
            }
            disabled={!finished || !permissions.outputs}
            onClick={() => void act(output.label, output.open)}
          />
        ))}
        <SmallButton
          label="Log"
          testId="nbp-run-log"
          disabled={!permissions.outputs}
          title={
            permissions.outputs
              ? undefined
              : (permissions.outputs_reason ?? undefined)
          }
          onClick={() => void showLog()}
        />
      </span>
      {run.error && (
        <div className="nbp-Error nbp-Run-error" data-testid="nbp-run-error">
          {run.error.split('\n')[0]}
        </div>
      )}
    </li>
  );
}
