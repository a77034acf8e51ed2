import * as React from 'react';

import { IMe } from '../common/api';
import { IPagedResource } from '../common/usePagedResource';
import { decidable } from './format';
import { IPromotion } from './modelsApi';
import { PromotionList } from './promotions';

/**
 * The pending promotions the signed-in user may decide, on every model, at the
 * top of the Models panel (approvers only).
 */
export function PromotionInbox(props: {
  pending: IPagedResource<IPromotion>;
  me: IMe | null;
  onDecided: () => void;
}): JSX.Element {
  const { pending, me, onDecided } = props;
  const mine = (pending.items ?? []).filter(p => decidable(p, me));
  return (
    <div className="nbp-Inbox" data-testid="nbp-promotion-inbox">
      <div className="nbp-Subtitle">
        Waiting for your decision
        {pending.items !== null && (
          <span className="nbp-Muted" data-testid="nbp-inbox-size">
            {' '}
            ({mine.length}
            {pending.hasMore ? '+' : ''})
          </span>
        )}
      </div>
      {pending.items === null && !pending.error && (
        <div className="nbp-Muted" data-testid="nbp-inbox-loading">
          Loading…
        </div>
      )}
      {pending.items !== null && mine.length === 0 && (
        <div className="nbp-Placeholder" data-testid="nbp-inbox-empty">
          No request waits for you.
        </div>
      )}
      {mine.length > 0 && (
        <PromotionList
          promotions={mine}
          onDecided={onDecided}
          showModel
          title={null}
        />
      )}
    </div>
  );
}
