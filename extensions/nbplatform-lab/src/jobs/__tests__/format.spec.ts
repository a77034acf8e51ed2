import {
  dotKind,
  formatRelative,
  formatSeconds,
  jobPermissions,
  runDots
} from '../format';
import type { IJob, IRunSummary, RunStatus } from '../jobsApi';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

function run(
  id: string,
  status: RunStatus,
  extra: Partial<IRunSummary> = {}
): IRunSummary {
  return {
    id,
    status,
    trigger: 'schedule',
    created_at: '2024-05-01T10:00:00.000Z',
    started_at: '2024-05-01T10:00:01.000Z',
    ended_at: null,
    duration_seconds: null,
    failed_cell: null,
    error: null,
    ...extra
  };
}

function job(extra: Partial<IJob> = {}): IJob {
  return {
    id: 'j1',
    name: 'nightly',
    owner: 'alice',
    notebook: 't.ipynb',
    parameters: {},
    schedule: {
      kind: 'cron',
      cron: '0 3 * * *',
      timezone: 'UTC',
      interval_seconds: null
    },
    profile: 'cpu-small',
    timeout_seconds: 60,
    retries: 0,
    active: true,
    shared: false,
    notify_on: ['failure'],
    tags: [],
    source: 'api',
    created_at: '2024-05-01T00:00:00.000Z',
    updated_at: '2024-05-01T00:00:00.000Z',
    next_run_at: null,
    last_run: null,
    recent_runs: [],
    permissions: {
      edit: true,
      run: true,
      delete: true,
      reason: null,
      outputs: true,
      outputs_reason: null
    },
    ...extra
  };
}

describe('formatRelative', () => {
  it.each([
    [8 * HOUR, 'in 8 h'],
    [8 * HOUR + 20 * MIN, 'in 8 h'],
    [5 * MIN, 'in 5 min'],
    [59 * MIN + 50_000, 'in 59 min'],
    [90 * MIN, 'in 2 h'],
    [30_000, 'in 30 s'],
    [2_000, 'now'],
    [-2_000, 'now'],
    [-3 * HOUR, '3 h ago'],
    [-45 * MIN, '45 min ago'],
    [47 * HOUR, 'in 47 h'],
    [3 * 24 * HOUR, 'in 3 d'],
    [-10 * 24 * HOUR, '10 d ago']
  ])('%d ms from now is %s', (delta, text) => {
    expect(formatRelative(NOW + delta, NOW)).toBe(text);
  });

  it('reads ISO text', () => {
    expect(formatRelative('2024-05-01T20:00:00.000Z', NOW)).toBe('in 8 h');
  });

  it.each([null, undefined, '', 'not a time'])('%p is a dash', value => {
    expect(formatRelative(value, NOW)).toBe('—');
  });
});

describe('formatSeconds', () => {
  it.each([
    [4.25, '4.3 s'],
    [42, '42 s'],
    [60, '1 min'],
    [184, '3 min 4 s'],
    [3600, '1 h'],
    [3720, '1 h 2 min']
  ])('%d s is %s', (seconds, text) => {
    expect(formatSeconds(seconds)).toBe(text);
  });

  it('has a dash for no duration', () => {
    expect(formatSeconds(null)).toBe('—');
  });
});

describe('dots', () => {
  it.each<[RunStatus, string]>([
    ['succeeded', 'success'],
    ['failed', 'failed'],
    ['timed-out', 'failed'],
    ['running', 'running'],
    ['queued', 'queued'],
    ['cancelled', 'cancelled']
  ])('%s is a %s dot', (status, kind) => {
    expect(dotKind(status)).toBe(kind);
  });

  it('are oldest first, each with a label naming its time, status and duration', () => {
    const dots = runDots(
      [
        run('c', 'running'),
        run('b', 'failed', {
          duration_seconds: 12,
          failed_cell: 4,
          error: 'ValueError: boom (failed in cell 3 of 4)'
        }),
        run('a', 'succeeded', { duration_seconds: 64 })
      ],
      iso => `<${iso}>`
    );
    expect(dots.map(d => [d.id, d.kind])).toEqual([
      ['a', 'success'],
      ['b', 'failed'],
      ['c', 'running']
    ]);
    expect(dots[0].label).toBe(
      'Run of <2024-05-01T10:00:01.000Z>: succeeded, 1 min 4 s'
    );
    expect(dots[1].label).toBe(
      'Run of <2024-05-01T10:00:01.000Z>: failed, 12 s — ValueError: boom (failed in cell 3 of 4)'
    );
    expect(dots[2].label).toBe('Run of <2024-05-01T10:00:01.000Z>: running');
  });

  it('a queued run is labelled by its creation time', () => {
    const [dot] = runDots([run('q', 'queued', { started_at: null })]);
    expect(dot.label).toBe('Run of 2024-05-01T10:00:00.000Z: queued');
  });

  it('none for a job without runs', () => {
    expect(runDots([])).toEqual([]);
  });
});

describe('jobPermissions', () => {
  it('is what the server said', () => {
    const denied = {
      edit: false,
      run: false,
      delete: false,
      reason: 'Only alice or a platform admin can change this job.',
      outputs: true,
      outputs_reason: null
    };
    expect(jobPermissions(job({ permissions: denied }))).toEqual(denied);
  });

  it('allows nothing when the server said nothing', () => {
    const old = job();
    delete (old as Partial<IJob>).permissions;
    const permissions = jobPermissions(old);
    expect(permissions.run || permissions.edit || permissions.delete).toBe(
      false
    );
    expect(permissions.reason).toBeTruthy();
  });
});
