import * as React from 'react';

import { HorizontalRule, PlotFrame, shorten } from '../common/plot';
import { formatNumber, histogramBars } from './format';
import type { IColumnStats, IHistogram, ITopValue } from './types';

/** The size of the small plots of the schema table. */
export const PLOT_WIDTH = 120;
export const PLOT_HEIGHT = 28;

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
  return (
    <PlotFrame
      className="nbp-Histogram"
      testId="nbp-feature-histogram"
      data={{ 'data-bins': bars.length }}
      width={width}
      height={height}
      label={`Histogram of ${props.name}${range}`}
    >
      <HorizontalRule y={height - 0.5} width={width} />
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
    </PlotFrame>
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
  return (
    <PlotFrame
      className="nbp-TopValues"
      testId="nbp-feature-top"
      data={{ 'data-values': top.length }}
      width={width}
      height={height}
      label={`Most frequent values of ${props.name}`}
    >
      {top.map((t, i) => (
        <g key={i}>
          <title>{`${t.value}: ${t.count}`}</title>
          <text className="nbp-Plot-label" x={0} y={i * row + row - 2}>
            {shorten(t.value, 10)}
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
    </PlotFrame>
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
