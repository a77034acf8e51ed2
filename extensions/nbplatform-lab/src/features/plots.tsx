import * as React from 'react';

import { formatNumber, histogramBars } from './format';
import type { IColumnStats, IHistogram, ITopValue } from './types';

/** The size of the small plots of the schema table. */
export const PLOT_WIDTH = 120;
export const PLOT_HEIGHT = 28;

/** The class, test id and counting attribute of each kind of small plot. */
const PLOT_KINDS = {
  histogram: {
    className: 'nbp-Plot nbp-Histogram',
    testId: 'nbp-feature-histogram',
    counts: 'data-bins'
  },
  top: {
    className: 'nbp-Plot nbp-TopValues',
    testId: 'nbp-feature-top',
    counts: 'data-values'
  }
} as const;

/** The size of a small plot, and what it says to screen readers. */
interface IPlotBox {
  width: number;
  height: number;
  label: string;
}

/**
 * The inline SVG of a small plot of `count` bins or values.
 */
function PlotSvg(props: {
  kind: keyof typeof PLOT_KINDS;
  count: number;
  box: IPlotBox;
  children: React.ReactNode;
}): JSX.Element {
  const kind = PLOT_KINDS[props.kind];
  const { width, height, label } = props.box;
  return (
    <svg
      className={kind.className}
      data-testid={kind.testId}
      {...{ [kind.counts]: props.count }}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={label}
    >
      {props.children}
    </svg>
  );
}

/**
 * A small histogram of a numeric feature, as inline SVG (one bar per bin;
 * hovering a bar tells its range and count).
 */
export function Histogram(props: {
  name: string;
  histogram: IHistogram;
  width?: number;
  height?: number;
}): JSX.Element {
  const width = props.width ?? PLOT_WIDTH;
  const height = props.height ?? PLOT_HEIGHT;
  const bars = histogramBars(props.histogram, width, height);
  const edges = props.histogram.edges;
  const range =
    edges.length > 1
      ? ` from ${formatNumber(edges[0])} to ${formatNumber(edges[edges.length - 1])}`
      : '';
  const box = { width, height, label: `Histogram of ${props.name}${range}` };
  return (
    <PlotSvg kind="histogram" count={bars.length} box={box}>
      <line
        className="nbp-Plot-axis"
        x1={0}
        y1={height - 0.5}
        x2={width}
        y2={height - 0.5}
      />
      {bars.map((bar, i) => (
        <rect
          key={i}
          className="nbp-Plot-bar"
          x={bar.x}
          y={bar.y}
          width={bar.width}
          height={bar.height}
        >
          <title>
            {bar.from !== null && bar.to !== null
              ? `${formatNumber(bar.from)} – ${formatNumber(bar.to)}: ${bar.count}`
              : String(bar.count)}
          </title>
        </rect>
      ))}
    </PlotSvg>
  );
}

/** How many of the most frequent values are drawn. */
export const TOP_SHOWN = 5;

/**
 * The most frequent values of a non-numeric feature, as inline SVG bars.
 */
export function TopValues(props: {
  name: string;
  top: ITopValue[];
  width?: number;
}): JSX.Element {
  const width = props.width ?? PLOT_WIDTH;
  const top = props.top.slice(0, TOP_SHOWN);
  const row = 11;
  const label = width * 0.45;
  const most = Math.max(1, ...top.map(t => t.count));
  const height = Math.max(row, top.length * row);
  const box = { width, height, label: `Most frequent values of ${props.name}` };
  return (
    <PlotSvg kind="top" count={top.length} box={box}>
      {top.map((t, i) => (
        <g key={i}>
          <title>{`${t.value}: ${t.count}`}</title>
          <text className="nbp-Plot-label" x={0} y={i * row + row - 2}>
            {t.value.length > 10 ? `${t.value.slice(0, 9)}…` : t.value}
          </text>
          <rect
            className="nbp-Plot-bar"
            x={label}
            y={i * row + 1}
            width={Math.max(1, ((width - label) * t.count) / most)}
            height={row - 3}
          />
        </g>
      ))}
    </PlotSvg>
  );
}

/**
 * The distribution of a feature: its histogram, else its top values, else
 * nothing (no statistics).
 */
export function Distribution(props: {
  column: IColumnStats | undefined;
}): JSX.Element | null {
  const { column } = props;
  if (!column) {
    return null;
  }
  if (column.histogram && column.histogram.counts.length > 0) {
    return <Histogram name={column.name} histogram={column.histogram} />;
  }
  if (column.top && column.top.length > 0) {
    return <TopValues name={column.name} top={column.top} />;
  }
  return null;
}

/**
 * A feature's statistics in one short line: `mean 0.51 · 0.02 – 0.99 · 3 nulls`.
 */
export function columnSummary(column: IColumnStats | undefined): string {
  if (!column) {
    return '';
  }
  const parts: string[] = [];
  if (column.mean !== null && column.mean !== undefined) {
    parts.push(`mean ${formatNumber(column.mean)}`);
  }
  if (
    column.min !== null &&
    column.min !== undefined &&
    column.max !== null &&
    column.max !== undefined
  ) {
    parts.push(`${formatNumber(column.min)} – ${formatNumber(column.max)}`);
  }
  if (column.nulls > 0) {
    parts.push(`${column.nulls} null${column.nulls === 1 ? '' : 's'}`);
  }
  return parts.join(' · ');
}
