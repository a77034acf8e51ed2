import { Notification } from '@jupyterlab/apputils';
import * as React from 'react';

import { errorMessage } from './api';
import {
  confirmAction,
  ErrorLine,
  formatDuration,
  formatTime,
  showTextDialog,
  SmallButton,
  StatusBadge,
  useInterval,
  usePlatform
} from './common';
import {
  deleteJob,
  FINAL_STATUSES,
  IJob,
  IRun,
  ISchedule,
  listJobRuns,
  listJobs,
  runLog,
  runNow,
  setActive
} from './jobsApi';
import { downloadRunHtml, openRunOutput } from './runOutput';
import { Section } from './sections';

/** How often job lists and run histories refresh while on screen. */
export const POLL_MS = 3_000;

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
 */
export function JobsSection(): JSX.Element {
  const { visible } = usePlatform();
  const [jobs, setJobs] = React.useState<IJob[] | null>(null);
  const [nextToken, setNextToken] = React.useState<string | null>(null);
  const [pages, setPages] = React.useState(1);
  const [error, setError] = React.useState<string | null>(null);

  const load = React.useCallback(async (): Promise<void> => {
    try {
      let token: string | null = null;
      const all: IJob[] = [];
      for (let page = 0; page < pages; page++) {
        const answer = await listJobs(token);
        all.push(...answer.jobs);
        token = answer.next_page_token;
        if (!token) {
          break;
        }
      }
      setJobs(all);
      setNextToken(token);
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [pages]);

  React.useEffect(() => {
    if (visible) {
      void load();
    }
  }, [load, visible]);
  useInterval(() => void load(), POLL_MS, visible);

  return (
    <Section id="jobs" title="Jobs">
      <ErrorLine message={error} />
      {jobs !== null && jobs.length === 0 && (
        <p className="nbp-Placeholder" data-testid="nbp-jobs-empty">
          No job yet. Schedule a notebook from its toolbar or the file
          browser&apos;s context menu.
        </p>
      )}
      <ul className="nbp-List">
        {(jobs ?? []).map(job => (
          <JobItem key={job.id} job={job} onChanged={() => void load()} />
        ))}
      </ul>
      {nextToken && (
        <SmallButton
          label="More"
          testId="nbp-jobs-more"
          onClick={() => setPages(p => p + 1)}
        />
      )}
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

  return (
    <li
      className="nbp-Item"
      data-testid="nbp-job"
      data-job={job.name}
      data-job-id={job.id}
    >
      <button
        type="button"
        className="nbp-Item-head"
        aria-expanded={open}
        data-testid="nbp-job-toggle"
        onClick={() => setOpen(o => !o)}
      >
        <span className="nbp-Caret">{open ? '▾' : '▸'}</span>
        <span className="nbp-Item-name">{job.name}</span>
        {!job.active && <StatusBadge status="paused" testId="nbp-job-paused" />}
        {job.last_run && (
          <StatusBadge status={job.last_run.status} testId="nbp-job-last" />
        )}
      </button>
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
        {job.active ? (
          <SmallButton
            label="Pause"
            testId="nbp-job-pause"
            onClick={() =>
              void act(`Pause ${job.name}`, () =>
                setActive(job.id, false)
              ).then(changed)
            }
          />
        ) : (
          <SmallButton
            label="Resume"
            testId="nbp-job-resume"
            onClick={() =>
              void act(`Resume ${job.name}`, () =>
                setActive(job.id, true)
              ).then(changed)
            }
          />
        )}
        <SmallButton
          label="Delete"
          kind="warn"
          testId="nbp-job-delete"
          onClick={() => void remove()}
        />
      </div>
      {open && <RunHistory job={job} refresh={refresh} onNewer={onChanged} />}
    </li>
  );
}

function RunHistory(props: {
  job: IJob;
  refresh: number;
  /** Called when the history knows more than the job's `last_run`. */
  onNewer: () => void;
}): JSX.Element {
  const { job, refresh } = props;
  const latestProps = React.useRef(props);
  latestProps.current = props;
  const { visible } = usePlatform();
  const [runs, setRuns] = React.useState<IRun[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);

  const load = React.useCallback(async (): Promise<void> => {
    try {
      const latest = (await listJobRuns(job.id)).runs;
      setRuns(latest);
      setError(null);
      const { job: current, onNewer } = latestProps.current;
      const last = current.last_run;
      const first = latest[0];
      if (first && (first.id !== last?.id || first.status !== last.status)) {
        onNewer();
      }
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [job.id]);

  React.useEffect(() => {
    void load();
  }, [load, refresh, job.last_run?.id, job.last_run?.status]);
  const live = !!runs?.some(r => !FINAL_STATUSES.has(r.status));
  useInterval(() => void load(), POLL_MS, visible && live);

  return (
    <div className="nbp-Detail" data-testid="nbp-job-runs">
      <ErrorLine message={error} />
      {runs !== null && runs.length === 0 && (
        <div className="nbp-Muted">No run yet.</div>
      )}
      <ul className="nbp-List">
        {(runs ?? []).map(run => (
          <RunItem key={run.id} job={job} run={run} />
        ))}
      </ul>
    </div>
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
        <SmallButton
          label="Output"
          testId="nbp-run-output"
          title="Open a read-only copy of the executed notebook"
          disabled={!finished}
          onClick={() =>
            void act('Output', () => openRunOutput(app, job.name, run))
          }
        />
        <SmallButton
          label="HTML"
          testId="nbp-run-html"
          title="Download the executed notebook rendered as HTML"
          disabled={!finished}
          onClick={() =>
            void act('HTML', async () => {
              await downloadRunHtml(job.name, run);
            })
          }
        />
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
