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
 * Feature views: schema and freshness.
 */
export function FeaturesSection(): JSX.Element {
  return (
    <Section id="features" title="Features">
      <p className="nbp-Placeholder">
        Feature views and their freshness arrive with the features capability.
      </p>
    </Section>
  );
}

/**
 * Drift monitors: status, per-feature drift, history.
 */
export function DriftSection(): JSX.Element {
  return (
    <Section id="drift" title="Drift">
      <p className="nbp-Placeholder">
        Drift monitors and their history arrive with the drift capability.
      </p>
    </Section>
  );
}
