import { Notification } from '@jupyterlab/apputils';
import * as React from 'react';

import { errorMessage, may } from '../common/api';
import {
  askComment,
  formatTime,
  SmallButton,
  StatusBadge,
  usePlatform
} from '../common/common';
import { usePoll } from '../common/usePoll';
import { FINAL_STATUSES, getRun, IRun } from '../jobs/jobsApi';
import { openRunOutput } from '../jobs/runOutput';
import { ellipsize } from './format';
import {
  CAN_APPROVE,
  decidePromotion,
  IPromotion,
  IPromotionReview
} from './modelsApi';
import { reviewLine } from './review';

/** How often a review that has not ended is asked about. */
const REVIEW_POLL_MS = 5000;

/**
 * Whether the signed-in user may approve promotions (as `api/me` says).
 */
export function useCanApprove(): boolean {
  return may(usePlatform().me, CAN_APPROVE);
}

/** The two decisions on a request, as the buttons show them. */
const VERDICTS = [
  { verdict: 'approve', label: 'Approve', kind: 'accept' },
  { verdict: 'reject', label: 'Reject', kind: 'warn' }
] as const;

/**
 * Promotion requests of one model; admins approve or reject them here.
 */
export function PromotionList(props: {
  promotions: IPromotion[];
  onDecided: () => void;
  /** Name the model of each request (a list of several models' requests). */
  showModel?: boolean;
  /** The list's subtitle; null for none. */
  title?: string | null;
}): JSX.Element | null {
  if (props.promotions.length === 0) {
    return null;
  }
  const title = props.title === undefined ? 'Pending promotions' : props.title;
  return (
    <div className="nbp-Promotions">
      {title && <div className="nbp-Subtitle">{title}</div>}
      <ul className="nbp-List">
        {props.promotions.map(p => (
          <PromotionItem
            key={p.id}
            promotion={p}
            onDecided={props.onDecided}
            showModel={props.showModel ?? false}
          />
        ))}
      </ul>
    </div>
  );
}

function PromotionItem(props: {
  promotion: IPromotion;
  onDecided: () => void;
  showModel: boolean;
}): JSX.Element {
  const { promotion, onDecided, showModel } = props;
  const canApprove = useCanApprove();
  const me = usePlatform().me;
  const rights = promotion.rights;
  const pending = promotion.state === 'pending';
  const mayApprove = rights ? rights.may_approve : canApprove && pending;
  const mayReject = rights ? rights.may_reject : canApprove && pending;
  const own = !!me && me.name === promotion.requested_by;
  const [busy, setBusy] = React.useState(false);

  const decide = async (
    verdict: 'approve' | 'reject',
    label: string
  ): Promise<void> => {
    const target = `${promotion.model} v${promotion.version} → ${promotion.alias}`;
    const comment = await askComment(
      `${label} ${target}`,
      'Comment (optional, kept in the audit log):',
      label
    );
    if (comment === null) {
      return;
    }
    setBusy(true);
    try {
      const decided = await decidePromotion(promotion.id, verdict, comment);
      Notification.success(`${target}: ${decided.state}.`, {
        autoClose: 4000
      });
    } catch (error) {
      Notification.error(`${target}: ${errorMessage(error)}`, {
        autoClose: false
      });
    } finally {
      setBusy(false);
      onDecided();
    }
  };

  return (
    <li
      className="nbp-Promotion"
      data-testid="nbp-promotion"
      data-promotion-id={promotion.id}
    >
      <div>
        {showModel && (
          <span
            className="nbp-Promotion-model"
            data-testid="nbp-promotion-model"
            title={promotion.model}
          >
            {ellipsize(promotion.model, 28)}{' '}
          </span>
        )}
        v{promotion.version} → <b>{promotion.alias}</b>{' '}
        <StatusBadge status={promotion.state} testId="nbp-promotion-state" />
      </div>
      <div className="nbp-Muted">
        asked by {promotion.requested_by}, {formatTime(promotion.requested_at)}
      </div>
      {rights && pending && (
        <div className="nbp-Muted" data-testid="nbp-promotion-deciders">
          decided by {rights.deciders}
        </div>
      )}
      {promotion.note && (
        <div className="nbp-Note" data-testid="nbp-promotion-note">
          {promotion.note}
        </div>
      )}
      <ReviewLine
        review={promotion.review}
        mayOpen={own || canApprove}
        label={`${promotion.model} v${promotion.version}`}
      />
      {canApprove && pending && (
        <div className="nbp-Actions">
          {VERDICTS.map(({ verdict, label, kind }) => {
            const allowed = verdict === 'approve' ? mayApprove : mayReject;
            const shown = verdict === 'reject' && own ? 'Withdraw' : label;
            return (
              <SmallButton
                key={verdict}
                label={shown}
                kind={kind}
                testId={`nbp-${verdict}`}
                disabled={busy || !allowed}
                title={
                  !allowed && verdict === 'approve'
                    ? (rights?.reason ?? undefined)
                    : undefined
                }
                onClick={() => void decide(verdict, shown)}
              />
            );
          })}
        </div>
      )}
      {canApprove && pending && rights?.reason && (
        <div className="nbp-Muted" data-testid="nbp-promotion-reason">
          {rights.reason}
        </div>
      )}
    </li>
  );
}

/**
 * The "Review" line of a request: its review run's status and "Open review"
 * (its output notebook, for the requester and approvers), or why no review
 * was started.
 */
function ReviewLine(props: {
  review: IPromotionReview | null | undefined;
  mayOpen: boolean;
  label: string;
}): JSX.Element | null {
  const { review, mayOpen, label } = props;
  const { app } = usePlatform();
  const runId = review?.run_id ?? null;
  const [opening, setOpening] = React.useState(false);
  const polled = usePoll<IRun>(
    runId,
    runId === null ? null : () => getRun(runId),
    answer => FINAL_STATUSES.has(answer.status),
    REVIEW_POLL_MS
  );
  const run = polled.value;
  const error = polled.error;

  const line = reviewLine(review, run, error);
  if (line === null) {
    return null;
  }
  const open = async (): Promise<void> => {
    if (run === null) {
      return;
    }
    setOpening(true);
    try {
      await openRunOutput(app, run.job_name ?? 'promotion-review', run);
    } catch (e) {
      Notification.error(`The review of ${label}: ${errorMessage(e)}`, {
        autoClose: false
      });
    } finally {
      setOpening(false);
    }
  };
  return (
    <div
      className={`nbp-Review nbp-Review-${line.kind}`}
      data-testid="nbp-promotion-review"
      data-review-kind={line.kind}
      data-run-id={runId ?? undefined}
    >
      <span
        className={line.kind === 'error' ? 'nbp-Error' : 'nbp-Muted'}
        data-testid="nbp-promotion-review-text"
      >
        {line.text}
      </span>
      {line.openable && mayOpen && (
        <SmallButton
          label="Open review"
          testId="nbp-open-review"
          title="Open the review's output notebook (a read-only copy in job-runs/)"
          disabled={opening}
          onClick={() => void open()}
        />
      )}
    </div>
  );
}
