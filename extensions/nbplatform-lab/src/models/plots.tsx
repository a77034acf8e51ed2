import * as React from 'react';

import { DottedLine, HorizontalRule, PlotFrame } from '../common/plot';
import { ellipsize, formatMetric, metricChartData } from './format';
import type { IMetricPoint } from './modelsApi';

/** The size of a metric chart at sidebar width. */
export const CHART_WIDTH = 220;
export const CHART_HEIGHT = 56;

/**
 * A metric's values over the steps of its run, as an inline SVG line; its
 * range and steps in words beside it (the title and the labels).
 */
export function MetricChart(props: {
  metric: string;
  history: readonly IMetricPoint[];
  width?: number;
  height?: number;
}): JSX.Element | null {
  const width = props.width ?? CHART_WIDTH;
  const height = props.height ?? CHART_HEIGHT;
  const data = metricChartData(props.history, width, height);
  if (data === null) {
    return null;
  }
  const { points } = data;
  const last = points[points.length - 1];
  const label =
    `${props.metric} over ${points.length} step${points.length === 1 ? '' : 's'}` +
    ` (${data.firstStep}–${data.lastStep}), from ${formatMetric(data.min)}` +
    ` to ${formatMetric(data.max)}, last ${formatMetric(last.value)}`;
  return (
    <figure className="nbp-MetricChart" data-testid="nbp-metric-chart">
      <PlotFrame
        className="nbp-MetricChart-plot"
        testId="nbp-metric-chart-plot"
        data={{ 'data-points': points.length, 'data-metric': props.metric }}
        width={width}
        height={height}
        label={label}
        titled
      >
        <HorizontalRule y={height - 0.5} width={width} />
        <DottedLine
          points={points}
          path={data.path}
          className="nbp-MetricChart-line"
          testId="nbp-metric-chart-path"
          radius={1.5}
          keyOf={(p, i) => `${p.step}-${i}`}
          tip={p => `step ${p.step}: ${formatMetric(p.value)}`}
          fill={() => 'var(--jp-brand-color1)'}
        />
      </PlotFrame>
      <figcaption className="nbp-Muted nbp-MetricChart-caption">
        <span data-testid="nbp-metric-chart-range">
          {formatMetric(data.min)} – {formatMetric(data.max)}
        </span>
        <span>
          {' · step '}
          {data.firstStep === data.lastStep
            ? data.firstStep
            : `${data.firstStep}–${data.lastStep}`}
        </span>
      </figcaption>
    </figure>
  );
}

/** How many metrics a version shows in the sidebar before "more". */
export const SIDEBAR_METRICS = 6;

/**
 * A compact table of a version's metrics (name, value), the first `limit`
 * of them; the others behind a "+N more" toggle.
 */
export function MetricsTable(props: {
  metrics: [string, number][];
  limit?: number;
}): JSX.Element {
  const { metrics } = props;
  const limit = props.limit ?? SIDEBAR_METRICS;
  const [all, setAll] = React.useState(false);
  if (metrics.length === 0) {
    return (
      <div className="nbp-Muted" data-testid="nbp-metrics-empty">
        no metrics logged
      </div>
    );
  }
  const shown = all ? metrics : metrics.slice(0, limit);
  return (
    <table className="nbp-MetricsTable" data-testid="nbp-metrics">
      <tbody>
        {shown.map(([key, value]) => (
          <tr key={key} data-testid="nbp-metric" data-metric={key}>
            <th scope="row" title={key}>
              {ellipsize(key, 22)}
            </th>
            <td title={String(value)} data-testid="nbp-metric-value">
              {formatMetric(value)}
            </td>
          </tr>
        ))}
        {metrics.length > limit && (
          <tr>
            <td colSpan={2}>
              <button
                type="button"
                className="nbp-Button nbp-Button-plain"
                data-testid="nbp-metrics-more"
                onClick={event => {
                  event.stopPropagation();
                  setAll(!all);
                }}
              >
                {all ? 'fewer' : `+${metrics.length - limit} more`}
              </button>
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
