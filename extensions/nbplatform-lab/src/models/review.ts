/**
 * How a promotion's review is summed up on its request (pure, for tests).
 */
import { FAILED_STATUSES, FINAL_STATUSES, IRun } from '../jobs/jobsApi';
import { IPromotionReview, REVIEW_NOTEBOOK } from './modelsApi';

/** The look of a review line. */
export type ReviewKind = 'pending' | 'ok' | 'failed' | 'error' | 'warn';

/** What the "Review" line of a request shows. */
export interface IReviewLine {
  text: string;
  kind: ReviewKind;
  /** Whether its output notebook may be there to open (the run has ended). */
  openable: boolean;
}

/**
 * The "Review" line of a request: not started (and why), its run's status,
 * or a warning when the run executed another notebook than the review.
 *
 * @param review The request's `review`.
 * @param run Its run, once fetched (null while loading).
 * @param loadError Why the run could not be fetched, if it could not.
 * @returns null when the request has no review (made before reviews).
 */
export function reviewLine(
  review: IPromotionReview | null | undefined,
  run: IRun | null,
  loadError: string | null = null
): IReviewLine | null {
  if (!review) {
    return null;
  }
  if (review.error || !review.run_id) {
    return {
      text: `Review not started: ${review.error ?? 'no run was made.'}`,
      kind: 'error',
      openable: false
    };
  }
  if (loadError) {
    return { text: `Review: ${loadError}`, kind: 'error', openable: false };
  }
  if (run === null) {
    return { text: 'Review: loading…', kind: 'pending', openable: false };
  }
  const ended = FINAL_STATUSES.has(run.status);
  if (run.notebook && run.notebook !== REVIEW_NOTEBOOK) {
    return {
      text: `Review ${run.status}, but it ran ${run.notebook}, not the platform's review notebook.`,
      kind: 'warn',
      openable: ended
    };
  }
  if (run.status === 'queued') {
    return { text: 'Review queued…', kind: 'pending', openable: false };
  }
  if (run.status === 'running') {
    const at = run.progress
      ? ` (cell ${run.progress.cell} of ${run.progress.total})`
      : '';
    return { text: `Review running${at}…`, kind: 'pending', openable: false };
  }
  if (run.status === 'succeeded') {
    return { text: 'Review succeeded.', kind: 'ok', openable: true };
  }
  const why = run.error ? `: ${run.error.slice(0, 300)}` : '.';
  return {
    text: `Review ${run.status}${why}`,
    kind: FAILED_STATUSES.has(run.status) ? 'failed' : 'warn',
    openable: ended
  };
}
