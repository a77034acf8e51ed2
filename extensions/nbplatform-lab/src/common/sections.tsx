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

/**
 * A section of a capability still to come.
 */
function PlaceholderSection(props: {
  id: string;
  title: string;
  text: string;
}): JSX.Element {
  return (
    <Section id={props.id} title={props.title}>
      <p className="nbp-Placeholder">{props.text}</p>
    </Section>
  );
}

/**
 * Drift monitors: status, per-feature drift, history.
 */
export function DriftSection(): JSX.Element {
  return (
    <PlaceholderSection
      id="drift"
      title="Drift"
      text="Drift monitors and their history arrive with the drift capability."
    />
  );
}
