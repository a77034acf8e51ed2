import * as React from 'react';

/**
 * One titled section of the sidebar.
 */
export function Section(props: {
  id: string;
  title: string;
  /** Shown beside the title (a count). */
  badge?: React.ReactNode;
  children: React.ReactNode;
}): JSX.Element {
  const headingId = `nbp-section-${props.id}-title`;
  return (
    <section
      className="nbp-Section"
      data-testid={`nbp-section-${props.id}`}
      aria-labelledby={headingId}
    >
      <h3 id={headingId} className="nbp-Section-title">
        {props.title}
        {props.badge}
      </h3>
      <div className="nbp-Section-body">{props.children}</div>
    </section>
  );
}
