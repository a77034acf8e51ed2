import * as React from 'react';

/**
 * One titled section of the sidebar.
 */
export function Section(props: {
  id: string;
  title: string;
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
      </h3>
      <div className="nbp-Section-body">{props.children}</div>
    </section>
  );
}
