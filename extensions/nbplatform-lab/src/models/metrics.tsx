import * as React from 'react';

import { errorMessage } from '../common/api';
import { SmallButton } from '../common/common';
import { defaultMetric } from './format';
import { getMetricHistory, IMetricHistory } from './modelsApi';
import { MetricChart } from './plots';

export { MetricsTable } from './plots';

type HistoryState =
  | { status: 'closed' }
  | { status: 'loading' }
  | { status: 'error'; message: string }
  | { status: 'ready'; history: IMetricHistory };

/**
 * A button that loads the version's metric history and charts one metric
 * over its steps (a menu picks which).
 */
export function MetricHistoryView(props: {
  model: string;
  version: string;
}): JSX.Element {
  const { model, version } = props;
  const [state, setState] = React.useState<HistoryState>({ status: 'closed' });
  const [metric, setMetric] = React.useState<string | null>(null);

  const load = (): void => {
    if (state.status === 'ready' || state.status === 'loading') {
      setState({ status: 'closed' });
      return;
    }
    setState({ status: 'loading' });
    getMetricHistory(model, version)
      .then(history => {
        setMetric(defaultMetric(history.metrics));
        setState({ status: 'ready', history });
      })
      .catch((error: unknown) =>
        setState({ status: 'error', message: errorMessage(error) })
      );
  };

  const open = state.status !== 'closed' && state.status !== 'error';
  return (
    <div className="nbp-MetricHistory" data-testid="nbp-metric-history">
      <SmallButton
        label={open ? 'Hide steps' : 'Steps'}
        title="Chart a metric over the steps of the version's run"
        testId="nbp-metric-history-toggle"
        onClick={load}
      />
      {state.status === 'loading' && (
        <span className="nbp-Muted" data-testid="nbp-metric-history-loading">
          {' '}
          Loading…
        </span>
      )}
      {state.status === 'error' && (
        <div className="nbp-Error" role="alert" data-testid="nbp-panel-error">
          {state.message}
        </div>
      )}
      {state.status === 'ready' && (
        <HistoryChart
          history={state.history}
          metric={metric}
          onMetric={setMetric}
        />
      )}
    </div>
  );
}

function HistoryChart(props: {
  history: IMetricHistory;
  metric: string | null;
  onMetric: (metric: string) => void;
}): JSX.Element {
  const { history, metric, onMetric } = props;
  const keys = Object.keys(history.metrics).sort();
  if (keys.length === 0 || metric === null) {
    return (
      <div className="nbp-Muted" data-testid="nbp-metric-history-empty">
        {history.run_id
          ? 'The run logged no metric.'
          : 'No run: this version has no metric history.'}
      </div>
    );
  }
  return (
    <div className="nbp-MetricHistory-body">
      {keys.length > 1 && (
        <select
          className="nbp-Select"
          aria-label="Metric to chart"
          data-testid="nbp-metric-history-select"
          value={metric}
          onChange={event => onMetric(event.target.value)}
        >
          {keys.map(key => (
            <option key={key} value={key}>
              {key} ({history.metrics[key].length})
            </option>
          ))}
        </select>
      )}
      {keys.length === 1 && <div className="nbp-Muted">{metric}</div>}
      <MetricChart metric={metric} history={history.metrics[metric] ?? []} />
      {history.truncated && (
        <div className="nbp-Muted">Some metrics or steps are left out.</div>
      )}
    </div>
  );
}
