/**
 * Poll one resource until it is done: the review run of a request, a replay.
 */
import * as React from 'react';

import { errorMessage } from './api';

/** What {@link usePoll} gives back. */
export interface IPolled<T> {
  /** The latest answer (null before the first). */
  value: T | null;
  /** Why the last ask failed (null when it did not); polling stops then. */
  error: string | null;
}

/**
 * Ask `fetch` now and every `intervalMs` until `done` says the answer is final;
 * nothing while `fetch` is null. A new `key` starts over; unmounting stops.
 *
 * @param key What is polled (a run id...): polling restarts when it changes.
 * @param fetch Asks for the resource, or null for nothing to poll.
 * @param done Whether an answer is final.
 * @param intervalMs Milliseconds between asks.
 * @returns The latest answer and the last error.
 */
export function usePoll<T>(
  key: string | null,
  fetch: (() => Promise<T>) | null,
  done: (value: T) => boolean,
  intervalMs: number
): IPolled<T> {
  const [value, setValue] = React.useState<T | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const latest = React.useRef({ fetch, done });
  latest.current = { fetch, done };

  React.useEffect(() => {
    setValue(null);
    setError(null);
    if (key === null || latest.current.fetch === null) {
      return;
    }
    let stopped = false;
    let timer: number | undefined;
    const poll = async (): Promise<void> => {
      const ask = latest.current.fetch;
      if (ask === null) {
        return;
      }
      try {
        const answer = await ask();
        if (stopped) {
          return;
        }
        setValue(answer);
        setError(null);
        if (!latest.current.done(answer)) {
          timer = window.setTimeout(() => void poll(), intervalMs);
        }
      } catch (e) {
        if (!stopped) {
          setError(errorMessage(e));
        }
      }
    };
    void poll();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [key, intervalMs]);

  return { value, error };
}
