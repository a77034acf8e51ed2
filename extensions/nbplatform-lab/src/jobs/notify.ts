import { Notification } from '@jupyterlab/apputils';

import { getMe } from '../common/api';
import { FAILED_STATUSES, IRun, listMyRuns } from './jobsApi';

/** How often the runs of the signed-in user are checked for failures. */
const CHECK_MS = 10_000;
/** Where the ids of runs already notified are kept across reloads. */
const STORAGE_KEY = 'nbplatform-lab:notified-runs';

function loadNotified(): Set<string> {
  try {
    const stored: unknown = JSON.parse(
      window.localStorage.getItem(STORAGE_KEY) ?? '[]'
    );
    return new Set(Array.isArray(stored) ? stored.map(String) : []);
  } catch {
    return new Set();
  }
}

function saveNotified(ids: Set<string>): void {
  try {
    const recent = [...ids].slice(-200);
    window.localStorage.setItem(STORAGE_KEY, JSON.stringify(recent));
  } catch {
    // storage full or disabled: at worst a failure is told again after a reload
  }
}

/**
 * The text of the notice of a failed run.
 */
export function failureMessage(run: IRun): string {
  // The error says where ("failed in cell 3 of 4"): failed_cell is an index
  // into the output notebook, which has papermill's injected cell too.
  return (
    `Job ${run.job_name ?? run.job_id}: run ${run.status}.` +
    (run.error ? ` ${run.error.split('\n')[0].slice(0, 200)}` : '')
  );
}

/**
 * The buttons of the notice of a failed run: "Show in Jobs" (the panel
 * expands the job and highlights the run) and "Open output" (at the failing
 * cell), when the caller can open outputs.
 */
export function failureActions(
  run: IRun,
  onShow: (run: IRun) => void,
  onOpenOutput?: (run: IRun) => void
): Notification.IAction[] {
  const actions: Notification.IAction[] = [
    { label: 'Show in Jobs', callback: () => onShow(run) }
  ];
  if (onOpenOutput) {
    actions.push({
      label:
        run.failed_cell !== null
          ? 'Open output at the failing cell'
          : 'Open output',
      callback: () => onOpenOutput(run)
    });
  }
  return actions;
}

/**
 * Tell the user, once per run, when a run of theirs fails or times out.
 *
 * Runs that ended before JupyterLab started are not told (they are in the Jobs
 * panel); failures while it runs are, whether or not the panel is open.
 *
 * @param onShow - Called with the run when the user asks to see it.
 * @param onOpenOutput - Called with the run when the user asks for its output.
 * @returns A function that stops the checks.
 */
export function watchFailedRuns(
  onShow: (run: IRun) => void,
  onOpenOutput?: (run: IRun) => void
): () => void {
  const since = Date.now() - CHECK_MS;
  const notified = loadNotified();
  let owner: string | null = null;
  let stopped = false;

  const check = async (): Promise<void> => {
    if (owner === null) {
      owner = (await getMe()).name;
    }
    const { runs } = await listMyRuns(owner);
    for (const run of runs) {
      const ended = run.ended_at ? Date.parse(run.ended_at) : NaN;
      if (
        !FAILED_STATUSES.has(run.status) ||
        notified.has(run.id) ||
        !(ended >= since)
      ) {
        continue;
      }
      notified.add(run.id);
      Notification.error(failureMessage(run), {
        autoClose: false,
        actions: failureActions(run, onShow, onOpenOutput)
      });
    }
    saveNotified(notified);
  };

  const loop = (): void => {
    if (stopped) {
      return;
    }
    check()
      .catch(() => {
        // the platform may be away for a moment; try again at the next tick
      })
      .finally(() => {
        if (!stopped) {
          window.setTimeout(loop, CHECK_MS);
        }
      });
  };
  window.setTimeout(loop, 2_000);
  return () => {
    stopped = true;
  };
}
