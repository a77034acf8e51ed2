import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { API_NAMESPACE, query, requestAPI } from '../common/api';
import type {
  IAlertList,
  ICheck,
  IMonitor,
  IMonitorList,
  IRetrainAnswer
} from './types';

/** Monitors per page of the panel. */
export const MONITORS_PAGE = 25;

function monitorPath(name: string, action?: string): string {
  const path = `drift/monitors/${encodeURIComponent(name)}`;
  return action ? `${path}/${action}` : path;
}

/** A page of monitors (only the caller's own or watched ones with `mine`). */
export function listMonitors(
  pageToken: string | null,
  mine: boolean
): Promise<IMonitorList> {
  return requestAPI<IMonitorList>(
    'drift/monitors' +
      query({
        mine: mine ? 1 : null,
        max_results: MONITORS_PAGE,
        page_token: pageToken
      })
  );
}

/** One monitor with its history. */
export function getMonitor(name: string): Promise<IMonitor> {
  return requestAPI<IMonitor>(monitorPath(name));
}

/** One check with its ranked columns. */
export function getCheck(id: number): Promise<ICheck> {
  return requestAPI<ICheck>(`drift/checks/${id}`);
}

/** The caller's alerts. */
export function listAlerts(): Promise<IAlertList> {
  return requestAPI<IAlertList>('drift/alerts');
}

function post<T>(path: string, body?: object): Promise<T> {
  return requestAPI<T>(path, {
    method: 'POST',
    body: body === undefined ? undefined : JSON.stringify(body)
  });
}

export function acknowledge(name: string, comment: string): Promise<IMonitor> {
  return post<IMonitor>(
    monitorPath(name, 'acknowledge'),
    comment ? { comment } : {}
  );
}

export function mute(name: string, minutes: number): Promise<IMonitor> {
  return post<IMonitor>(monitorPath(name, 'mute'), { minutes });
}

export function unmute(name: string): Promise<IMonitor> {
  return requestAPI<IMonitor>(monitorPath(name, 'mute'), { method: 'DELETE' });
}

export function watch(name: string): Promise<IMonitor> {
  return post<IMonitor>(monitorPath(name, 'watch'));
}

export function unwatch(name: string): Promise<IMonitor> {
  return requestAPI<IMonitor>(monitorPath(name, 'watch'), {
    method: 'DELETE'
  });
}

export function retrain(
  name: string,
  checkId: number | null
): Promise<IRetrainAnswer> {
  return post<IRetrainAnswer>(
    monitorPath(name, 'retrain'),
    checkId === null ? {} : { check_id: checkId }
  );
}

/**
 * The URL of a check's report, through this server (what the report's
 * sandboxed iframe loads).
 */
export function reportUrl(checkId: number): string {
  const settings = ServerConnection.makeSettings();
  return URLExt.join(
    settings.baseUrl,
    API_NAMESPACE,
    'drift/checks',
    String(checkId),
    'report'
  );
}
