import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, ReactWidget, showDialog } from '@jupyterlab/apputils';
import * as React from 'react';

import { IMe } from './api';

/**
 * What every panel of the sidebar needs from the application.
 */
export interface IPlatformContext {
  app: JupyterFrontEnd;
  /** The signed-in user, once known. */
  me: IMe | null;
  /** Whether the sidebar is on screen (panels poll only then). */
  visible: boolean;
}

export const PlatformContext = React.createContext<IPlatformContext | null>(
  null
);

/**
 * The platform context; panels are only ever rendered inside the sidebar.
 */
export function usePlatform(): IPlatformContext {
  const context = React.useContext(PlatformContext);
  if (context === null) {
    throw new Error('usePlatform() outside of the Platform sidebar');
  }
  return context;
}

/**
 * A date (ISO text or milliseconds since the epoch) in the user's locale.
 */
export function formatTime(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') {
    return '—';
  }
  const date = new Date(value);
  return isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

/**
 * A duration in seconds as `1 h 2 min`, `3 min 4 s` or `5.6 s`.
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) {
    return '—';
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${Math.round(seconds % 60)} s`;
  }
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * A short, colored status word (`succeeded`, `pending`…).
 */
export function StatusBadge(props: {
  status: string;
  testId?: string;
}): JSX.Element {
  return (
    <span
      className={`nbp-Status nbp-Status-${props.status}`}
      data-testid={props.testId ?? 'nbp-status'}
      data-status={props.status}
    >
      {props.status}
    </span>
  );
}

/**
 * A one-line error shown inside a panel.
 */
export function ErrorLine(props: {
  message: string | null;
}): JSX.Element | null {
  if (!props.message) {
    return null;
  }
  return (
    <div className="nbp-Error" role="alert" data-testid="nbp-panel-error">
      {props.message}
    </div>
  );
}

/**
 * A small button of the panels.
 */
export function SmallButton(props: {
  label: string;
  onClick: () => void;
  testId?: string;
  title?: string;
  disabled?: boolean;
  kind?: 'accept' | 'warn' | 'plain';
}): JSX.Element {
  return (
    <button
      type="button"
      className={`nbp-Button nbp-Button-${props.kind ?? 'plain'}`}
      data-testid={props.testId}
      title={props.title}
      disabled={props.disabled}
      onClick={event => {
        event.stopPropagation();
        props.onClick();
      }}
    >
      {props.label}
    </button>
  );
}

/**
 * Show a long text (a log) in a dialog, as plain text.
 */
export async function showTextDialog(
  title: string,
  text: string
): Promise<void> {
  const body = (
    <pre className="nbp-LogText" data-testid="nbp-log-text">
      {text || '(empty)'}
    </pre>
  );
  await showDialog({
    title,
    body,
    buttons: [Dialog.okButton({ label: 'Close' })]
  });
}

/**
 * Ask a yes/no question; resolve with whether the user accepted.
 */
export async function confirmAction(
  title: string,
  question: string,
  accept: string
): Promise<boolean> {
  const result = await showDialog({
    title,
    body: question,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: accept })]
  });
  return result.button.accept;
}

/**
 * The body of a dialog asking for an optional comment.
 */
class CommentBody extends ReactWidget {
  private _value = '';

  constructor(private readonly _prompt: string) {
    super();
    this.addClass('nbp-CommentDialog');
  }

  getValue(): string {
    return this._value;
  }

  protected render(): JSX.Element {
    return (
      <label className="nbp-Field">
        <span>{this._prompt}</span>
        <textarea
          rows={3}
          data-testid="nbp-comment"
          onChange={event => {
            this._value = event.target.value;
          }}
        />
      </label>
    );
  }
}

/**
 * Ask for a comment; resolve with it, or with null when cancelled.
 */
export async function askComment(
  title: string,
  prompt: string,
  accept: string
): Promise<string | null> {
  const result = await showDialog<string>({
    title,
    body: new CommentBody(prompt),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: accept })],
    focusNodeSelector: 'textarea'
  });
  return result.button.accept ? (result.value ?? '') : null;
}
