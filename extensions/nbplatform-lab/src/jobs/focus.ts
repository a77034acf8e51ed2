import * as React from 'react';

/**
 * A run the Jobs panel is asked to show ("Show in Jobs" on a failure notice):
 * its job expands, the run scrolls into view and is highlighted.
 */
export interface IRunFocus {
  jobId: string;
  runId: string;
  /** Bumped by every request, so that asking again for the same run shows it again. */
  stamp: number;
}

let current: IRunFocus | null = null;
const listeners = new Set<() => void>();

/**
 * Ask the Jobs panel to show `runId` of `jobId` (now, or when it mounts).
 */
export function focusRun(jobId: string, runId: string): void {
  current = { jobId, runId, stamp: (current?.stamp ?? 0) + 1 };
  listeners.forEach(listener => listener());
}

/**
 * The run the panel is asked to show, or null.
 */
export function runFocus(): IRunFocus | null {
  return current;
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * The run the panel is asked to show, re-rendering when that changes.
 */
export function useRunFocus(): IRunFocus | null {
  return React.useSyncExternalStore(subscribe, runFocus);
}
