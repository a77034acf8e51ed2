import * as React from 'react';

import { DottedLine, HorizontalRule, PlotFrame, shorten } from '../common/plot';
import {
  formatNumber,
  formatShare,
  IImportanceBar,
  importanceBars,
  importanceTitle,
  sparklinePath,
  sparklinePoints
} from './format';
import type { DriftStatus, IHistoryPoint } from './types';

/** The colors of the statuses (badges, sparkline points). */
export const STATUS_COLORS: Record<DriftStatus, string> = {
  unknown: 'var(--jp-layout-color3)',
  ok: 'var(--jp-success-color3)',
  warning: 'var(--jp-warn-color3)',
  drift: 'var(--jp-error-color3)'
};

const STROKE: Record<DriftStatus, string> = {
  unknown: 'var(--jp-ui-font-color2)',
  ok: 'var(--jp-success-color1)',
  warning: 'var(--jp-warn-color1)',
  drift: 'var(--jp-error-color1)'
};

/** The size of a monitor's sparkline. */
export const SPARK_WIDTH = 120;
export const SPARK_HEIGHT = 24;

/**
 * The share of drifted columns of a monitor's checks, oldest first, as an
 * inline SVG line; the dashed line is the monitor's threshold.
 */
export function Sparkline(props: {
  name: string;
  history: IHistoryPoint[];
  threshold: number;
  width?: number;
  height?: number;
}): JSX.Element {
  const width = props.width ?? SPARK_WIDTH;
  const height = props.height ?? SPARK_HEIGHT;
  const { history } = props;
  const points = sparklinePoints(
    history.map(h => h.drift_share),
    width,
    height
  );
  const [threshold] = sparklinePoints([props.threshold], width, height);
  const last = history.length > 0 ? history[history.length - 1] : null;
  const label =
    `Share of drifted columns of ${props.name} over ${history.length} ` +
    `check${history.length === 1 ? '' : 's'}` +
    (last ? `, latest ${formatShare(last.drift_share)}` : '');
  return (
    <PlotFrame
      className="nbp-DriftSparkline"
      testId="nbp-drift-sparkline"
      data={{ 'data-points': history.length }}
      width={width}
      height={height}
      label={label}
      titled
    >
      <HorizontalRule y={threshold.y} width={width} dashed />
      <DottedLine
        points={points}
        path={points.length > 1 ? sparklinePath(points) : ''}
        className="nbp-DriftSparkline-line"
        testId="nbp-drift-sparkline-path"
        radius={1.2}
        keyOf={(_, i) => history[i].check_id}
        tip={(_, i) =>
          `check ${history[i].check_id}: ${formatShare(history[i].drift_share)} (${history[i].status})`
        }
        fill={(_, i) => STROKE[history[i].status] ?? STROKE.unknown}
      />
    </PlotFrame>
  );
}

/** The size of the importance chart. */
export const IMPORTANCE_WIDTH = 200;
const ROW = 14;
const LABEL = 90;

/**
 * The model's importance of each feature (mean |SHAP value|), largest first:
 * the SHAP summary (bar) plot, as inline SVG.
 */
export function ImportanceChart(props: {
  importance: Record<string, number> | null;
  modelVersion: string | null;
  drifted?: ReadonlySet<string>;
  width?: number;
}): JSX.Element | null {
  const width = props.width ?? IMPORTANCE_WIDTH;
  const bars: IImportanceBar[] = importanceBars(
    props.importance,
    width - LABEL - 40
  );
  if (bars.length === 0) {
    return null;
  }
  const title = importanceTitle(props.modelVersion);
  const height = bars.length * ROW + 2;
  return (
    <figure
      className="nbp-DriftImportance"
      data-testid="nbp-drift-importance"
      style={{ margin: 0 }}
    >
      <figcaption
        className="nbp-DriftImportance-title"
        data-testid="nbp-drift-importance-title"
        style={{ fontWeight: 600, margin: '6px 0 2px' }}
      >
        {title}
      </figcaption>
      <PlotFrame
        className="nbp-DriftImportance-plot"
        testId="nbp-drift-importance-plot"
        data={{ 'data-bars': bars.length }}
        width={width}
        height={height}
        label={`${title}: mean |SHAP value| per feature (SHAP summary bar plot)`}
      >
        {bars.map((bar, i) => (
          <g key={bar.feature} data-feature={bar.feature}>
            <title>{`${bar.feature}: mean |SHAP| ${formatNumber(bar.value)}`}</title>
            <text
              className="nbp-Plot-label"
              x={LABEL - 4}
              y={i * ROW + ROW - 3}
              textAnchor="end"
            >
              {shorten(bar.feature, 14)}
            </text>
            <rect
              className="nbp-Plot-bar"
              x={LABEL}
              y={i * ROW + 2}
              width={bar.length}
              height={ROW - 4}
              style={
                props.drifted?.has(bar.feature)
                  ? { fill: 'var(--jp-error-color1)' }
                  : undefined
              }
            />
            <text
              className="nbp-Plot-label"
              x={LABEL + bar.length + 3}
              y={i * ROW + ROW - 3}
            >
              {formatNumber(bar.value)}
            </text>
          </g>
        ))}
      </PlotFrame>
    </figure>
  );
}
