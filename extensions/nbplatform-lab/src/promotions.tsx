import { Notification } from '@jupyterlab/apputils';
import * as React from 'react';

import { errorMessage } from './api';
import {
  askComment,
  formatTime,
  SmallButton,
  StatusBadge,
  usePlatform
} from './common';
import { APPROVE_SCOPE, decidePromotion, IPromotion } from './modelsApi';

/**
 * Whether the signed-in user may approve promotions.
 */
export function useCanApprove(): boolean {
  const { me } = usePlatform();
  return (
    !!me &&
    (me.scopes.includes(APPROVE_SCOPE) || me.roles.includes('platform-admin'))
  );
}

/**
 * Promotion requests of one model; admins approve or reject them here.
 */
export function PromotionList(props: {
  promotions: IPromotion[];
  onDecided: () => void;
}): JSX.Element | null {
  if (props.promotions.length === 0) {
    return null;
  }
  return (
    <div className="nbp-Promotions">
      <div className="nbp-Subtitle">Pending promotions</div>
      <ul className="nbp-List">
        {props.promotions.map(p => (
          <PromotionItem key={p.id} promotion={p} onDecided={props.onDecided} />
        ))}
      </ul>
    </div>
  );
}

function PromotionItem(props: {
  promotion: IPromotion;
  onDecided: () => void;
}): JSX.Element {
  const { promotion, onDecided } = props;
  const canApprove = useCanApprove();
  const [busy, setBusy] = React.useState(false);

  const decide = async (verdict: 'approve' | 'reject'): Promise<void> => {
    const target = `${promotion.model} v${promotion.version} → ${promotion.alias}`;
    const comment = await askComment(
      `${verdict === 'approve' ? 'Approve' : 'Reject'} ${target}`,
      'Comment (optional, kept in the audit log):',
      verdict === 'approve' ? 'Approve' : 'Reject'
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
        v{promotion.version} → <b>{promotion.alias}</b>{' '}
        <StatusBadge status={promotion.state} testId="nbp-promotion-state" />
      </div>
      <div className="nbp-Muted">
        asked by {promotion.requested_by}, {formatTime(promotion.requested_at)}
      </div>
      {promotion.note && (
        <div className="nbp-Note" data-testid="nbp-promotion-note">
          {promotion.note}
        </div>
      )}
      {canApprove && promotion.state === 'pending' && (
        <div className="nbp-Actions">
          <SmallButton
            label="Approve"
            kind="accept"
            testId="nbp-approve"
            disabled={busy}
            onClick={() => void decide('approve')}
          />
          <SmallButton
            label="Reject"
            kind="warn"
            testId="nbp-reject"
            disabled={busy}
            onClick={() => void decide('reject')}
          />
        </div>
      )}
    </li>
  );
}
