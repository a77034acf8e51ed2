import { Notification } from '@jupyterlab/apputils';
import * as React from 'react';

import { errorMessage } from '../common/api';
import {
  confirmAction,
  formatDuration,
  formatTime,
  showTextDialog,
  SmallButton,
  StatusBadge,
  usePlatform
} from '../common/common';
import { ListItem, PagedList } from '../common/ListItem';
import { Section } from '../common/sections';
import { usePagedResource } from '../common/usePagedResource';
import {
  deleteJob,
  FINAL_STATUSES,
  getJob,
  IJob,
  IRun,
  ISchedule,
  isJobLive,
  listJobRuns,
  listJobs,
  mayManageJob,
  runLog,
  runNow,
  setActive
} from './jobsApi';
import { downloadRunHtml, openRunOutput } from './runOutput';

/** How often jobs and runs that are still changing refresh while on screen. */
export const POLL_MS = 3_000;
/** How often the first page of jobs refreshes while on screen (new jobs). */
export const LIST_POLL_MS = 15_000;

/**
 * The schedule of a job in words.
 */
export function describeSchedule(schedule: ISchedule): string {
  switch (schedule.kind) {
    case 'cron':
      return `cron ${schedule.cron} (${schedule.timezone})`;
    case 'interval':
      return `every ${formatDuration(schedule.interval_seconds)}`;
    default:
      return 'manual';
  }
}

/**
 * Scheduled notebooks: definitions, next run, recent runs; actions on them.
 *
 * The first page of jobs refreshes every LIST_POLL_MS; a job whose last run is
 * queued or running (or whose next run is due) alone every POLL_MS.
 */
export function JobsSection(): JSX.Element {
  const { visible } = usePlatform();
  const jobs = usePagedResource<IJob>({
    fetchPage: async token => {
      const page = await listJobs(token);
      return { items: page.jobs, next: page.next_page_token };
    },
    keyOf: job => job.id,
    pollMs: LIST_POLL_MS,
    isLive: job => isJobLive(job),
    liveMs: POLL_MS,
    fetchItem: job => getJob(job.id),
    active: visible
  });

  return (
    <Section id="jobs" title="Jobs">
      <PagedList
        resource={jobs}
        moreTestId="nbp-jobs-more"
        empty={
          <p className="nbp-Placeholder" data-testid="nbp-jobs-empty">
            No job yet. Schedule a notebook from its toolbar or the file
            browser&apos;s context menu.
          </p>
        }
      >
        {job => (
          <JobItem
            key={job.id}
            job={job}
            onChanged={() => jobs.refreshItem(job)}
          />
        )}
      </PagedList>
    </Section>
  );
}

/**
 * Run an action on a job and tell the user when it fails.
 */
async function act(what: string, action: () => Promise<unknown>) {
  try {
    await action();
  } catch (error) {
    Notification.error(`${what}: ${errorMessage(error)}`, { autoClose: 8000 });
  }
}

function JobItem(props: { job: IJob; onChanged: () => void }): JSX.Element {
  const { job, onChanged } = props;
  const { me } = usePlatform();
  const [open, setOpen] = React.useState(false);
  const [refresh, setRefresh] = React.useState(0);
  const changed = (): void => {
    setRefresh(r => r + 1);
    onChanged();
  };

  const remove = async (): Promise<void> => {
    const yes = await confirmAction(
      'Delete job',
      `Delete the job "${job.name}", its runs and their outputs? Running runs are stopped.`,
      'Delete'
    );
    if (yes) {
      await act(`Delete ${job.name}`, () => deleteJob(job.id));
      changed();
    }
  };
  const pause = job.active ? 'Pause' : 'Resume';

  return (
    <ListItem
      testId="nbp-job"
      data={{ 'data-job': job.name, 'data-job-id': job.id }}
      name={job.name}
      badges={
        <>
          {!job.active && (
            <StatusBadge status="paused" testId="nbp-job-paused" />
          )}
          {job.last_run && (
            <StatusBadge status={job.last_run.status} testId="nbp-job-last" />
          )}
        </>
      }
      expanded={open}
      onExpandedChange={setOpen}
      detailTestId="nbp-job-runs"
      detail={() => (
        <RunHistory job={job} refresh={refresh} onNewer={onChanged} />
      )}
    >
      <div className="nbp-Muted" data-testid="nbp-job-schedule">
        {describeSchedule(job.schedule)}
        {job.next_run_at && ` · next ${formatTime(job.next_run_at)}`}
      </div>
      <div className="nbp-Muted">
        <code>{job.notebook}</code>
        {me && job.owner !== me.name && ` · ${job.owner}`}
        <span
          data-testid="nbp-job-sharing"
          title={
            job.shared
              ? 'Everyone who may read jobs may open its outputs and logs'
              : 'Outputs and logs: its owner and platform admins only'
          }
        >
          {job.shared ? ' · outputs shared' : ' · outputs private'}
        </span>
      </div>
      {mayManageJob(me, job) && (
        <div className="nbp-Actions">
          <SmallButton
            label="Run now"
            testId="nbp-job-run"
            onClick={() =>
              void act(`Run ${job.name}`, () => runNow(job.id)).then(() => {
                setOpen(true);
                changed();
              })
            }
          />
          <SmallButton
            label={pause}
            testId={`nbp-job-${pause.toLowerCase()}`}
            onClick={() =>
              void act(`${pause} ${job.name}`, () =>
                setActive(job.id, !job.active)
              ).then(changed)
            }
          />
          <SmallButton
            label="Delete"
            kind="warn"
            testId="nbp-job-delete"
            onClick={() => void remove()}
          />
        </div>
      )}
    </ListItem>
  );
}

/**
 * The newest runs of a job, refreshed every POLL_MS while one is queued or
 * running, and whenever the job's last run changes.
 */
function RunHistory(props: {
  job: IJob;
  refresh: number;
  /** Called when the history knows more than the job's `last_run`. */
  onNewer: () => void;
}): JSX.Element {
  const { job, refresh, onNewer } = props;
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
      {run => <RunItem key={run.id} job={job} run={run} />}
    </PagedList>
  );
}

function RunItem(props: { job: IJob; run: IRun }): JSX.Element {
  const { job, run } = props;
  const { app } = usePlatform();
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
      className="nbp-Run"
      data-testid="nbp-run"
      data-run-id={run.id}
      data-status={run.status}
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
            title={output.title}
            disabled={!finished}
            onClick={() => void act(output.label, output.open)}
          />
        ))}
        <SmallButton
          label="Log"
          testId="nbp-run-log"
          onClick={() => void showLog()}
        />
      </span>
      {run.error && (
        <div className="nbp-Error nbp-Run-error" data-testid="nbp-run-error">
          {run.failed_cell !== null ? `cell ${run.failed_cell}: ` : ''}
          {run.error.split('\n')[0]}
        </div>
      )}
    </li>
  );
}
