import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IMe, IServerInfo } from './api';

/**
 * Where the fetch of the signed-in user stands.
 */
export type MeState =
  | { status: 'loading' }
  | { status: 'ready'; me: IMe }
  | { status: 'error'; message: string };

/**
 * The header of the sidebar: who is signed in, with which roles, on which server.
 */
export function UserHeader(props: {
  state: MeState;
  onRefresh: () => void;
}): JSX.Element {
  const { state, onRefresh } = props;
  return (
    <header className="nbp-Header">
      <div className="nbp-Header-title">
        <h2>Platform</h2>
        <button
          className="nbp-Header-refresh"
          title="Refresh"
          aria-label="Refresh"
          onClick={onRefresh}
        >
          <refreshIcon.react tag="span" />
        </button>
      </div>
      {state.status === 'loading' && (
        <div className="nbp-Header-loading">Loading…</div>
      )}
      {state.status === 'error' && (
        <div className="nbp-Header-error" data-testid="nbp-error" role="alert">
          {state.message}
        </div>
      )}
      {state.status === 'ready' && <UserDetails me={state.me} />}
    </header>
  );
}

function UserDetails(props: { me: IMe }): JSX.Element {
  const { me } = props;
  return (
    <>
      <div className="nbp-Header-user" data-testid="nbp-user">
        {me.name}
        {me.admin && <span className="nbp-Header-admin"> (hub admin)</span>}
      </div>
      <ul className="nbp-Header-roles" data-testid="nbp-roles">
        {me.roles.length === 0 && (
          <li className="nbp-Header-noroles">no platform role</li>
        )}
        {me.roles.map(role => (
          <li key={role} className="nbp-Role" data-testid="nbp-role">
            {role}
          </li>
        ))}
      </ul>
      <ServerLine server={me.server} />
    </>
  );
}

function ServerLine(props: { server: IServerInfo }): JSX.Element {
  const { server } = props;
  const profile = server.profile || 'unknown profile';
  const gpus =
    server.gpus.length === 0 ? 'no GPU' : `GPU ${server.gpus.join(', ')}`;
  return (
    <div className="nbp-Header-server" data-testid="nbp-server">
      server: {profile} · {gpus}
    </div>
  );
}
