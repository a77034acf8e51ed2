import * as React from 'react';

import { getMe } from '../common/api';
import {
  confirmAction,
  formatDuration,
  formatTime,
  SmallButton,
  StatusBadge,
  usePlatform
} from '../common/common';
import { ListItem, PagedList } from '../common/ListItem';
import { Section } from '../common/sections';
import { usePagedResource } from '../common/usePagedResource';
import { useRunFocus } from './focus';
import {
  formatRelative,
  formatSeconds,
  jobPermissions,
  runDots
} from './format';
import {
  deleteJob,
  getJob,
  IJob,
  ISchedule,
  isJobLive,
  listJobs,
  runNow,
  setActive
} from './jobsApi';
import { act, POLL_MS, RunHistory } from './runs';

/** How often the first page of jobs refreshes while on screen (new jobs). */
export const LIST_POLL_MS = 15_000;
/** How often relative times ("in 8 h") are written again. */
const CLOCK_MS = 30_000;

/** Which jobs the panel lists: the user's own, or every job they may read. */
export type JobsFilter = 'mine' | 'all';

const FILTERS: { value: JobsFilter; label: string; title: string }[] = [
  { value: 'mine', label: 'Mine', title: 'Only your jobs' },
  { value: 'all', label: 'All', title: 'Every job you may see' }
];

/**
 * The current time, again every `ms`.
 */
function useNow(ms: number): number {
  const [now, setNow] = React.useState(() => Date.now());
  React.useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(timer);
  }, [ms]);
  return now;
}

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
  const { visible, me } = usePlatform();
  const [filter, setFilter] = React.useState<JobsFilter>('mine');
  const now = useNow(CLOCK_MS);
  const jobs = usePagedResource<IJob>({
    fetchPage: async token => {
      const owner =
        filter === 'mine' ? (me?.name ?? (await getMe()).name) : null;
      const page = await listJobs(token, owner);
      return { items: page.jobs, next: page.next_page_token };
    },
    keyOf: job => job.id,
    query: filter,
    pollMs: LIST_POLL_MS,
    isLive: job => isJobLive(job),
    liveMs: POLL_MS,
    fetchItem: job => getJob(job.id),
    active: visible
  });

  return (
    <Section id="jobs" title="Jobs">
      <div
        className="nbp-Toolbar"
        role="group"
        aria-label="Which jobs"
        data-testid="nbp-jobs-filter"
      >
        {FILTERS.map(option => (
          <button
            key={option.value}
            type="button"
            className={
              'nbp-Button nbp-Toggle' +
              (filter === option.value ? ' nbp-Toggle-on' : '')
            }
            aria-pressed={filter === option.value}
            title={option.title}
            data-testid={`nbp-jobs-filter-${option.value}`}
            onClick={() => setFilter(option.value)}
          >
            {option.label}
          </button>
        ))}
      </div>
      <PagedList
        resource={jobs}
        moreTestId="nbp-jobs-more"
        empty={
          <p className="nbp-Placeholder" data-testid="nbp-jobs-empty">
            {filter === 'mine'
              ? "No job yet. Schedule a notebook from its toolbar or the file browser's context menu."
              : 'No job on the platform yet.'}
          </p>
        }
      >
        {job => (
          <JobItem
            key={job.id}
            job={job}
            now={now}
            onChanged={() => jobs.refreshItem(job)}
          />
        )}
      </PagedList>
    </Section>
  );
}

/**
 * The recent runs of a job as coloured dots (oldest left), each labelled.
 */
export function RunDots(props: { job: IJob }): JSX.Element | null {
  const dots = runDots(props.job.recent_runs ?? [], formatTime);
  if (dots.length === 0) {
    return null;
  }
  return (
    <span
      className="nbp-RunDots"
      role="group"
      aria-label={`Last ${dots.length} runs, oldest first`}
      data-testid="nbp-job-dots"
    >
      {dots.map(dot => (
        <span
          key={dot.id}
          className={`nbp-RunDot nbp-RunDot-${dot.kind}`}
          role="img"
          aria-label={dot.label}
          title={dot.label}
          data-testid="nbp-job-dot"
          data-status={dot.status}
          data-kind={dot.kind}
          data-run-id={dot.id}
        />
      ))}
    </span>
  );
}

/**
 * Dots, the last run's duration and the next run ("in 8 h", the time on hover).
 */
function RunsLine(props: { job: IJob; now: number }): JSX.Element | null {
  const { job, now } = props;
  const last = job.recent_runs?.[0] ?? job.last_run;
  if (!last && !job.next_run_at) {
    return null;
  }
  return (
    <div className="nbp-Muted nbp-JobRuns" data-testid="nbp-job-recent">
      <RunDots job={job} />
      {last && (
        <span
          data-testid="nbp-job-last-duration"
          title={`Last run ${last.status}, started ${formatTime(last.started_at ?? last.created_at)}`}
        >
          {last.duration_seconds !== null
            ? `last ${formatSeconds(last.duration_seconds)}`
            : `last ${last.status}`}
        </span>
      )}
      {last && job.next_run_at && <span aria-hidden="true">·</span>}
      {job.next_run_at && (
        <span
          data-testid="nbp-job-next"
          title={`Next run: ${formatTime(job.next_run_at)}`}
          data-next-run-at={job.next_run_at}
        >
          next {formatRelative(job.next_run_at, now)}
        </span>
      )}
    </div>
  );
}

function JobItem(props: {
  job: IJob;
  now: number;
  onChanged: () => void;
}): JSX.Element {
  const { job, now, onChanged } = props;
  const { me } = usePlatform();
  const [open, setOpen] = React.useState(false);
  const [refresh, setRefresh] = React.useState(0);
  const focus = useRunFocus();
  const focused = focus?.jobId === job.id ? focus : null;
  React.useEffect(() => {
    if (focused) {
      setOpen(true);
    }
  }, [focused?.stamp]);
  const changed = (): void => {
    setRefresh(r => r + 1);
    onChanged();
  };
  const permissions = jobPermissions(job);

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
  const activation = job.activation ?? null;
  const testing = activation?.state === 'testing';
  // A job whose test is running counts as on: pausing it drops the test.
  const pause = job.active || testing ? 'Pause' : 'Resume';
  const denied = permissions.reason ?? undefined;

  return (
    <ListItem
      testId="nbp-job"
      data={{
        'data-job': job.name,
        'data-job-id': job.id,
        'data-owner': job.owner
      }}
      name={job.name}
      badges={
        <>
          {testing && <StatusBadge status="testing" testId="nbp-job-testing" />}
          {!job.active && !testing && (
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
        <RunHistory
          job={job}
          refresh={refresh}
          focus={focused}
          onNewer={onChanged}
        />
      )}
    >
      <div className="nbp-Muted" data-testid="nbp-job-schedule">
        {describeSchedule(job.schedule)}
      </div>
      <RunsLine job={job} now={now} />
      <div className="nbp-Muted">
        <code>{job.notebook}</code>
        {me && job.owner !== me.name && (
          <span data-testid="nbp-job-owner">{` · ${job.owner}`}</span>
        )}
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
          disabled={!permissions.run}
          title={permissions.run ? `Run ${job.name} now` : denied}
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
          disabled={!permissions.edit}
          title={permissions.edit ? undefined : denied}
          onClick={() =>
            void act(`${pause} ${job.name}`, () =>
              setActive(job.id, pause === 'Resume')
            ).then(changed)
          }
        />
        <SmallButton
          label="Delete"
          kind="warn"
          testId="nbp-job-delete"
          disabled={!permissions.delete}
          title={permissions.delete ? undefined : denied}
          onClick={() => void remove()}
        />
      </div>
      {activation && activation.state !== 'passed' && activation.reason && (
        <div
          className={activation.state === 'failed' ? 'nbp-Error' : 'nbp-Muted'}
          data-testid="nbp-job-activation"
          data-state={activation.state}
          role={activation.state === 'failed' ? 'alert' : 'status'}
        >
          {activation.reason}
        </div>
      )}
      {denied && (
        <div
          className="nbp-Muted nbp-JobDenied"
          data-testid="nbp-job-denied"
          role="note"
        >
          {denied}
        </div>
      )}
    </ListItem>
  );
}
