import { Notification, ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { errorMessage } from '../common/api';
import { listAlerts } from './driftApi';
import { alertText, badgeText, newAlerts } from './format';
import type { IAlert } from './types';

/** How often the caller's drift alerts are fetched. */
export const ALERTS_POLL_MS = 60_000;
/** Where the alerts already told are kept across reloads. */
const STORAGE_KEY = 'nbplatform-lab:notified-drift-alerts';
/** More new alerts than this at once are told in one notification. */
const MAX_NOTICES = 3;

function loadSeen(): Set<string> {
  try {
    const stored: unknown = JSON.parse(
      window.localStorage.getItem(STORAGE_KEY) ?? '[]'
    );
    return new Set(Array.isArray(stored) ? stored.map(String) : []);
  } catch {
    return new Set();
  }
}

function saveSeen(seen: Set<string>): void {
  try {
    window.localStorage.setItem(
      STORAGE_KEY,
      JSON.stringify([...seen].slice(-500))
    );
  } catch {
    // storage full or disabled: at worst an alert is told again after a reload
  }
}

/** What the status bar shows. */
export interface IAlertsState {
  /** The alerts, or null before the first answer. */
  alerts: IAlert[] | null;
  error: string | null;
}

/**
 * The caller's drift alerts, fetched every ALERTS_POLL_MS and whenever the
 * Drift panel refreshes; each new (monitor, check) is told once with a
 * JupyterLab notification.
 */
export class DriftAlerts {
  private _state: IAlertsState = { alerts: null, error: null };
  private _listeners = new Set<(state: IAlertsState) => void>();
  private _seen: Set<string> | null = null;
  private _timer: number | null = null;
  private _started = false;
  private _inFlight: Promise<void> | null = null;
  private _onShow: (alert: IAlert) => void = () => undefined;

  get state(): IAlertsState {
    return this._state;
  }

  /** Start polling; `onShow` is called when the user asks to see an alert. */
  start(onShow: (alert: IAlert) => void): void {
    this._onShow = onShow;
    if (this._started) {
      return;
    }
    this._started = true;
    this._schedule(2_000);
  }

  stop(): void {
    this._started = false;
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
  }

  /** Call `listener` with every new state; returns what stops it. */
  subscribe(listener: (state: IAlertsState) => void): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  /** Fetch the alerts now (after a refresh or an action of the panel). */
  refresh(): Promise<void> {
    if (this._inFlight) {
      return this._inFlight;
    }
    this._inFlight = this._fetch().finally(() => {
      this._inFlight = null;
      if (this._started) {
        this._schedule(ALERTS_POLL_MS);
      }
    });
    return this._inFlight;
  }

  private _schedule(delay: number): void {
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
    }
    this._timer = window.setTimeout(() => {
      this._timer = null;
      if (document.visibilityState === 'hidden') {
        this._schedule(ALERTS_POLL_MS);
        return;
      }
      void this.refresh();
    }, delay);
  }

  private async _fetch(): Promise<void> {
    try {
      const alerts = (await listAlerts()).alerts ?? [];
      this._set({ alerts, error: null });
      this._notify(alerts);
    } catch (error) {
      this._set({ alerts: this._state.alerts, error: errorMessage(error) });
    }
  }

  private _set(state: IAlertsState): void {
    this._state = state;
    for (const listener of this._listeners) {
      listener(state);
    }
  }

  private _notify(alerts: IAlert[]): void {
    if (this._seen === null) {
      this._seen = loadSeen();
    }
    const fresh = newAlerts(alerts, this._seen);
    saveSeen(this._seen);
    if (fresh.length > MAX_NOTICES) {
      Notification.warning(
        `${fresh.length} drift monitors of yours need a look: ` +
          fresh.map(a => a.monitor).join(', ') +
          '.',
        {
          autoClose: false,
          actions: [
            { label: 'Show in Drift', callback: () => this._onShow(fresh[0]) }
          ]
        }
      );
      return;
    }
    for (const alert of fresh) {
      Notification.warning(alertText(alert), {
        autoClose: false,
        actions: [
          { label: 'Show in Drift', callback: () => this._onShow(alert) }
        ]
      });
    }
  }
}

/** The alerts of this JupyterLab: one poll shared by the panel and the status bar. */
export const driftAlerts = new DriftAlerts();

/**
 * The number of alerts, for the status bar; a click shows the Drift panel.
 */
function AlertsBadge(props: {
  alerts: DriftAlerts;
  onClick: () => void;
}): JSX.Element {
  const [state, setState] = React.useState(props.alerts.state);
  React.useEffect(() => props.alerts.subscribe(setState), [props.alerts]);
  const count = state.alerts === null ? null : state.alerts.length;
  const muted = (state.alerts ?? []).filter(a => a.muted).length;
  const title =
    state.error !== null
      ? `Drift alerts: ${state.error}`
      : count === null
        ? 'Drift alerts: loading'
        : `${count} drift monitor${count === 1 ? '' : 's'} of yours in warning or drift` +
          (muted > 0 ? ` (${muted} muted)` : '');
  return (
    <button
      type="button"
      className="nbp-DriftAlerts jp-StatusBar-TextItem"
      data-testid="nbp-drift-alerts-badge"
      data-count={count ?? ''}
      title={title}
      style={{
        background: count ? 'var(--jp-warn-color3)' : 'transparent',
        border: 'none',
        borderRadius: '8px',
        color: 'inherit',
        cursor: 'pointer',
        padding: '0 6px'
      }}
      onClick={props.onClick}
    >
      {badgeText(count)}
    </button>
  );
}

/**
 * The status bar item of the drift alerts.
 */
export class DriftAlertsStatus extends ReactWidget {
  constructor(
    private readonly _alerts: DriftAlerts,
    private readonly _onClick: () => void
  ) {
    super();
    this.addClass('nbp-DriftAlertsStatus');
  }

  protected render(): JSX.Element {
    return <AlertsBadge alerts={this._alerts} onClick={this._onClick} />;
  }
}
