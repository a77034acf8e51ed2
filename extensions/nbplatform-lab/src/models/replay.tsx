/**
 * "Replay" on a model version made by a job run: re-run that run (its input
 * snapshot, parameters and profile) and compare the new metrics with the
 * recorded ones.
 */
import * as React from 'react';

import { errorMessage } from '../common/api';
import { SmallButton } from '../common/common';
import { usePoll } from '../common/usePoll';
import { formatMetric, replaySummary } from './format';
import { getReplay, IReplay, replayModelVersion } from './modelsApi';

/** How often a running replay is asked about. */
const POLL_MS = 3000;

export function ReplayControl(props: {
  model: string;
  version: string;
}): JSX.Element {
  const { model, version } = props;
  const [runId, setRunId] = React.useState<string | null>(null);
  const [startError, setStartError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const polled = usePoll<IReplay>(
    runId === null ? null : `${model}/${version}/${runId}`,
    runId === null ? null : () => getReplay(model, version, runId),
    answer => answer.finished,
    POLL_MS
  );
  const replay = polled.value;
  const error = startError ?? polled.error;

  const start = async (): Promise<void> => {
    setBusy(true);
    setStartError(null);
    try {
      const started = await replayModelVersion(model, version);
      setRunId(started.run.id);
    } catch (e) {
      setStartError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const running = replay !== null && !replay.finished;
  return (
    <div className="nbp-Replay" data-testid="nbp-replay">
      <SmallButton
        label="Replay"
        testId="nbp-replay-start"
        title="Re-run the job run that made this version and compare its metrics"
        disabled={busy || running}
        onClick={() => void start()}
      />
      {error && (
        <span className="nbp-Error" data-testid="nbp-replay-error">
          {' '}
          {error}
        </span>
      )}
      {replay && (
        <div
          data-testid="nbp-replay-result"
          data-reproduced={String(replay.reproduced)}
          data-finished={String(replay.finished)}
        >
          <span data-testid="nbp-replay-summary">{replaySummary(replay)}</span>
          {replay.finished && replay.metrics.length > 0 && (
            <table className="nbp-MetricsTable" data-testid="nbp-replay-table">
              <thead>
                <tr>
                  <th>metric</th>
                  <th>recorded</th>
                  <th>replay</th>
                </tr>
              </thead>
              <tbody>
                {replay.metrics.map(m => (
                  <tr
                    key={m.key}
                    data-key={m.key}
                    className={
                      m.reproduced ? undefined : 'nbp-CompareTable-differs'
                    }
                  >
                    <td>{m.key}</td>
                    <td>{formatMetric(m.recorded)}</td>
                    <td>{formatMetric(m.new)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {replay.new_version && (
            <span className="nbp-Muted" data-testid="nbp-replay-new-version">
              {' '}
              registered as v{replay.new_version}
            </span>
          )}
        </div>
      )}
    </div>
  );
}
