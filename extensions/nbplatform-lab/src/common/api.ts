import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/**
 * The path, under the server's base URL, of the nbplatform_lab server extension.
 */
export const API_NAMESPACE = 'nbplatform/api';

/**
 * An error answered by the nbplatform_lab server extension.
 *
 * The server sends `{"message": ..., "error_code": ...}`; `message` is a sentence
 * meant for the user.
 */
export class PlatformAPIError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string
  ) {
    super(message);
    this.name = 'PlatformAPIError';
  }
}

/**
 * What the single-user server knows about itself (its profile and devices).
 */
export interface IServerInfo {
  /** The profile slug (NBP_PROFILE), or null outside the platform. */
  profile: string | null;
  gpus: string[];
  kernels: string[];
}

/**
 * What the caller may do: for every platform scope
 * `custom:nbplatform:<area>:<action>` the service names, `<area>_<action>`
 * (e.g. `models_approve`). The names come from the service; this extension
 * never spells a scope or a role.
 */
export type Capabilities = Readonly<Record<string, boolean | undefined>>;

/**
 * The signed-in user, as the platform service describes them.
 */
export interface IMe {
  name: string;
  admin: boolean;
  groups: string[];
  roles: string[];
  scopes: string[];
  /** Whether the user's token holds each platform scope (see Capabilities). */
  can: Capabilities;
  /** The same keys as `can`: the platform roles that grant each. */
  granted_by: Readonly<Record<string, string[] | undefined>>;
  server: IServerInfo;
}

/**
 * The signed-in user (`GET nbplatform/api/me`).
 */
export function getMe(): Promise<IMe> {
  return requestAPI<IMe>('me');
}

/**
 * Whether `me` holds `capability` (false while the user is not known).
 */
export function may(me: IMe | null, capability: string): boolean {
  return me?.can?.[capability] === true;
}

/**
 * The platform roles that grant `capability` (none while the user is not known).
 */
export function rolesGranting(me: IMe | null, capability: string): string[] {
  return me?.granted_by?.[capability] ?? [];
}

/**
 * Call the nbplatform_lab server extension.
 *
 * Every request of this extension goes through here, so authentication (the
 * server's XSRF token and credentials, handled by ServerConnection) and error
 * handling are the same everywhere.
 *
 * @param endPoint - The path under `<base_url>/nbplatform/api/`, e.g. `me`.
 * @param init - The request options (method, body...).
 * @returns The decoded JSON body of the answer.
 * @throws PlatformAPIError when the server answers with an error status.
 * @throws ServerConnection.NetworkError when the server cannot be reached.
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const requestUrl = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);

  // Bodies are JSON: say so (a string body would otherwise go as text/plain,
  // which the server extension refuses).
  const headers = new Headers(init.headers);
  if (
    init.body !== undefined &&
    init.body !== null &&
    !headers.has('Content-Type')
  ) {
    headers.set('Content-Type', 'application/json');
  }

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(
      requestUrl,
      { ...init, headers },
      settings
    );
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  const text = await response.text();
  let data: unknown = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }

  if (!response.ok) {
    const body = (data ?? {}) as { message?: unknown; error_code?: unknown };
    const message =
      typeof body.message === 'string' && body.message.length > 0
        ? body.message
        : `The server answered ${response.status} ${response.statusText}.`;
    const errorCode =
      typeof body.error_code === 'string' ? body.error_code : 'UNKNOWN';
    throw new PlatformAPIError(message, response.status, errorCode);
  }
  return data as T;
}

/**
 * Build a query string from the values that are set.
 */
export function query(params: Record<string, string | number | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== '') {
      search.set(key, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * Describe any thrown value as one sentence for the user.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error && error.message) {
    return error.message;
  }
  return String(error);
}
