import { IRun } from '../../jobs/jobsApi';
import { REVIEW_NOTEBOOK } from '../modelsApi';
import { reviewLine } from '../review';

function run(values: Partial<IRun> = {}): IRun {
  return {
    id: 'r1',
    job_id: 'j1',
    job_name: 'promotion-review',
    status: 'queued',
    attempt: 1,
    trigger: 'manual',
    scheduled_for: null,
    parameters: {},
    source_run_id: null,
    parent_run_id: null,
    requested_by: 'alice',
    created_at: '2026-12-03T10:00:00+00:00',
    started_at: null,
    ended_at: null,
    duration_seconds: null,
    backend: null,
    error: null,
    failed_cell: null,
    progress: null,
    cancel_requested: false,
    ...values
  };
}

const STARTED = { job_id: 'j1', run_id: 'r1', error: null };

describe('reviewLine', () => {
  it('shows nothing for a request made before reviews', () => {
    expect(reviewLine(null, null)).toBeNull();
    expect(reviewLine(undefined, null)).toBeNull();
  });

  it('says why a review was not started', () => {
    const line = reviewLine(
      { job_id: null, run_id: null, error: 'gina may use no CPU profile' },
      null
    );
    expect(line).toEqual({
      text: 'Review not started: gina may use no CPU profile',
      kind: 'error',
      openable: false
    });
  });

  it('follows the run until it ends, then offers its output', () => {
    expect(reviewLine(STARTED, null)?.text).toBe('Review: loading…');
    expect(reviewLine(STARTED, run())).toEqual({
      text: 'Review queued…',
      kind: 'pending',
      openable: false
    });
    const running = run({
      status: 'running',
      progress: { cell: 3, total: 12, failed: false }
    });
    expect(reviewLine(STARTED, running)?.text).toBe(
      'Review running (cell 3 of 12)…'
    );
    expect(reviewLine(STARTED, running)?.openable).toBe(false);
    const done = run({ status: 'succeeded', notebook: REVIEW_NOTEBOOK });
    expect(reviewLine(STARTED, done)).toEqual({
      text: 'Review succeeded.',
      kind: 'ok',
      openable: true
    });
  });

  it('says how a review failed, and still offers the failed output', () => {
    const failed = run({ status: 'failed', error: 'CellExecutionError' });
    expect(reviewLine(STARTED, failed)).toEqual({
      text: 'Review failed: CellExecutionError',
      kind: 'failed',
      openable: true
    });
    expect(reviewLine(STARTED, run({ status: 'cancelled' }))?.kind).toBe(
      'warn'
    );
  });

  it('warns when the run executed another notebook than the review', () => {
    const other = run({ status: 'succeeded', notebook: 'rosy.ipynb' });
    const line = reviewLine(STARTED, other);
    expect(line?.kind).toBe('warn');
    expect(line?.text).toContain('it ran rosy.ipynb');
    expect(line?.openable).toBe(true);
  });

  it('reports a run that cannot be read', () => {
    expect(reviewLine(STARTED, null, 'no such run')).toEqual({
      text: 'Review: no such run',
      kind: 'error',
      openable: false
    });
  });
});
