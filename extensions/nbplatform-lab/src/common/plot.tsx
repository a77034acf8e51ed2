import * as React from 'react';

/**
 * The `data-*` attributes a plot carries for tests and styles
 * (`data-points`, `data-bars`...).
 */
export type PlotData = Record<`data-${string}`, string | number>;

/**
 * The inline SVG frame every small plot of the sidebar draws in: the
 * `nbp-Plot` class, its own class and test id, its size as both the
 * element's and the view box's, and what it shows in words for screen
 * readers (and, with `titled`, as the hover tip of the whole plot).
 */
export function PlotFrame(props: {
  className: string;
  testId: string;
  width: number;
  height: number;
  label: string;
  titled?: boolean;
  data?: PlotData;
  children: React.ReactNode;
}): JSX.Element {
  const { width, height, label } = props;
  return (
    <svg
      className={`nbp-Plot ${props.className}`}
      data-testid={props.testId}
      {...props.data}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={label}
    >
      {props.titled && <title>{label}</title>}
      {props.children}
    </svg>
  );
}

/**
 * A horizontal rule across a plot at `y`: the baseline of bars and lines
 * (solid), or a threshold (dashed).
 */
export function HorizontalRule(props: {
  y: number;
  width: number;
  dashed?: boolean;
}): JSX.Element {
  return (
    <line
      className="nbp-Plot-axis"
      x1={0}
      y1={props.y}
      x2={props.width}
      y2={props.y}
      {...(props.dashed
        ? {
            strokeDasharray: '3 2',
            style: { stroke: 'var(--jp-border-color1)' }
          }
        : {})}
    />
  );
}

/** A point of a line plot, in the plot's coordinates. */
export interface IPlotPoint {
  x: number;
  y: number;
}

/**
 * A line through `points` with a dot at each (the last one larger), each dot
 * telling its value on hover: the line of sparklines and metric charts.
 */
export function DottedLine<P extends IPlotPoint>(props: {
  points: readonly P[];
  path: string;
  className: string;
  testId: string;
  radius: number;
  keyOf: (point: P, index: number) => string | number;
  tip: (point: P, index: number) => string;
  fill: (point: P, index: number) => string;
}): JSX.Element {
  const { points } = props;
  return (
    <>
      {points.length > 1 && props.path && (
        <path
          className={props.className}
          data-testid={props.testId}
          d={props.path}
          fill="none"
          style={{ stroke: 'var(--jp-brand-color1)', strokeWidth: 1.5 }}
        />
      )}
      {points.map((p, i) => (
        <circle
          key={props.keyOf(p, i)}
          cx={p.x}
          cy={p.y}
          r={i === points.length - 1 ? 2.5 : props.radius}
          style={{ fill: props.fill(p, i) }}
        >
          <title>{props.tip(p, i)}</title>
        </circle>
      ))}
    </>
  );
}

/** `text` cut to `max` characters, the last one an ellipsis. */
export function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
