import { Clipboard, Notification } from '@jupyterlab/apputils';
import * as React from 'react';

import { errorMessage } from '../common/api';
import { SmallButton } from '../common/common';
import { FeatureTable, IFeatureRow } from './schema';
import {
  IJoinKey,
  ISnippetInput,
  onlineFeaturesSnippet,
  trainingFrameSnippet
} from './snippets';

/**
 * Fetch a value, again whenever `key` changes; the last value stays shown
 * while the next one comes, and answers for an older key are dropped.
 */
export function useFetched<T>(
  load: () => Promise<T>,
  key: string
): { value: T | null; error: string | null } {
  const [state, setState] = React.useState<{
    value: T | null;
    error: string | null;
  }>({ value: null, error: null });
  const latest = React.useRef(load);
  latest.current = load;
  React.useEffect(() => {
    let current = true;
    latest.current().then(
      value => {
        if (current) {
          setState({ value, error: null });
        }
      },
      (error: unknown) => {
        if (current) {
          setState(s => ({ value: s.value, error: errorMessage(error) }));
        }
      }
    );
    return () => {
      current = false;
    };
  }, [key]);
  return state;
}

/** The code a CopyCode button copies. */
type SnippetKind = 'training' | 'online';

/** What each CopyCode button is called and copies. */
const SNIPPETS: Record<
  SnippetKind,
  {
    label: string;
    title: string;
    /** What the notification says was copied. */
    what: string;
    code: (input: ISnippetInput) => string;
  }
> = {
  training: {
    label: 'Copy training frame code',
    title: 'nbp.features.get_training_frame(entity_df, features=[...])',
    what: 'training frame',
    code: trainingFrameSnippet
  },
  online: {
    label: 'Copy online code',
    title:
      'nbp.features.get_online_features(entity_rows=[...], features=[...])',
    what: 'online features',
    code: onlineFeaturesSnippet
  }
};

/**
 * Buttons that copy code using the selected features, and the code copied last.
 */
function CopyCode(props: { input: ISnippetInput }): JSX.Element {
  const { input } = props;
  const [shown, setShown] = React.useState<SnippetKind | null>(null);
  const none = input.features.length === 0;
  const copy = (kind: SnippetKind): void => {
    Clipboard.copyToSystem(SNIPPETS[kind].code(input));
    setShown(kind);
    const n = input.features.length;
    Notification.success(
      `Copied the ${SNIPPETS[kind].what} code of ${n} feature${n === 1 ? '' : 's'}.`,
      { autoClose: 3000 }
    );
  };
  return (
    <>
      <div className="nbp-Actions">
        {(['training', 'online'] as const).map(kind => (
          <SmallButton
            key={kind}
            label={SNIPPETS[kind].label}
            testId={`nbp-feature-copy-${kind}`}
            title={SNIPPETS[kind].title}
            disabled={none}
            onClick={() => copy(kind)}
          />
        ))}
        {none && <span className="nbp-Muted">select features first</span>}
      </div>
      {shown && !none && (
        <pre
          className="nbp-Snippet"
          data-testid="nbp-feature-snippet"
          data-kind={shown}
        >
          {SNIPPETS[shown].code(input)}
        </pre>
      )}
    </>
  );
}

/**
 * The features of a view or service to select (a schema table), and buttons
 * that copy code using the selected ones.
 */
export function FeaturePicker(props: {
  rows: IFeatureRow[];
  /** The features selected at first (asked once, when it is first shown). */
  initial: () => Iterable<string>;
  /** Whether to draw the distributions (false where no statistics exist). */
  plots: boolean;
  joinKeys: IJoinKey[];
  /** The event time of the example entity rows (ISO text). */
  eventTime: string;
}): JSX.Element {
  const { rows } = props;
  const [selected, setSelected] = React.useState<Set<string>>(
    () => new Set(props.initial())
  );
  const input: ISnippetInput = {
    features: rows.filter(r => selected.has(r.ref)).map(r => r.ref),
    joinKeys: props.joinKeys,
    eventTime: props.eventTime
  };
  return (
    <>
      <FeatureTable
        rows={rows}
        selected={selected}
        onChange={setSelected}
        plots={props.plots}
      />
      <CopyCode input={input} />
    </>
  );
}
