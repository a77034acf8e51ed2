import { Notification } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import * as React from 'react';

import { errorMessage } from '../common/api';
import { SmallButton, usePlatform } from '../common/common';
import { ellipsize } from './format';
import { IProvenance } from './modelsApi';

/**
 * The MLflow UI through the hub's authenticated gateway, or null when this
 * server does not run under a hub.
 */
export function mlflowUIUrl(): string | null {
  const hubPrefix = PageConfig.getOption('hubPrefix');
  if (!hubPrefix) {
    return null;
  }
  // hubPrefix is "<base>/hub/"; the services live next to it.
  const base = hubPrefix.replace(/hub\/?$/, '');
  const host = PageConfig.getOption('hubHost');
  return `${host}${base}services/platform/mlflow/`;
}

/**
 * A link opening the MLflow UI in a new tab (at `fragment`, e.g. `#/models/churn`).
 */
export function MlflowLink(props: {
  fragment?: string;
  label: string;
  testId?: string;
}): JSX.Element | null {
  const url = mlflowUIUrl();
  if (url === null) {
    return null;
  }
  return (
    <a
      className="nbp-Link"
      href={url + (props.fragment ?? '')}
      target="_blank"
      rel="noopener noreferrer"
      data-testid={props.testId ?? 'nbp-mlflow-link'}
      onClick={event => event.stopPropagation()}
    >
      {props.label}
    </a>
  );
}

/**
 * The notebook a model version came from, with a button that opens it when it
 * is a notebook of this workspace.
 */
export function NotebookLineage(props: {
  path: string;
  owner?: string;
}): JSX.Element {
  const { app, me } = usePlatform();
  const { path, owner } = props;
  const elsewhere = !!owner && !!me && owner !== me.name;

  const open = async (): Promise<void> => {
    try {
      await app.serviceManager.contents.get(path, { content: false });
    } catch (error) {
      Notification.warning(
        `${path} is not in your workspace (${errorMessage(error)}).`,
        { autoClose: 5000 }
      );
      return;
    }
    await app.commands.execute('docmanager:open', { path });
  };

  return (
    <div className="nbp-Lineage" data-testid="nbp-lineage">
      <span className="nbp-Muted">notebook </span>
      <code data-testid="nbp-lineage-path" title={path}>
        {ellipsize(path)}
      </code>
      {elsewhere ? (
        <span className="nbp-Muted"> (in {owner}&apos;s workspace)</span>
      ) : (
        <SmallButton
          label="Open"
          testId="nbp-open-notebook"
          title={`Open ${path}`}
          onClick={() => void open()}
        />
      )}
    </div>
  );
}

/**
 * Who made a version and from what: author, commit, job run, who registered it.
 */
export function Provenance(props: {
  provenance: IProvenance;
}): JSX.Element | null {
  const { author, commit, jobRun, registeredBy } = props.provenance;
  if (!author && !commit && !jobRun && !registeredBy) {
    return null;
  }
  return (
    <div className="nbp-Muted nbp-Provenance" data-testid="nbp-provenance">
      {author && <span data-testid="nbp-lineage-author">by {author}</span>}
      {commit && (
        <span data-testid="nbp-lineage-commit" title={commit.full}>
          {' · commit '}
          <code>{commit.short}</code>
          {commit.dirty ? ' (uncommitted changes)' : ''}
        </span>
      )}
      {jobRun && (
        <span
          data-testid="nbp-lineage-job-run"
          title={`job ${jobRun.job}, run ${jobRun.run}`}
        >
          {' · job run '}
          <code>{jobRun.run.slice(0, 8)}</code>
        </span>
      )}
      {registeredBy && registeredBy !== author && (
        <span data-testid="nbp-lineage-registered-by">
          {' · registered by '}
          {registeredBy}
        </span>
      )}
    </div>
  );
}

/**
 * A long path (an artifact source, a notebook) shortened with an ellipsis;
 * the whole path on hover.
 */
export function ShortPath(props: {
  path: string;
  label?: string;
  testId?: string;
  max?: number;
}): JSX.Element {
  return (
    <div className="nbp-Muted nbp-ShortPath">
      {props.label && <span>{props.label} </span>}
      <code data-testid={props.testId} title={props.path}>
        {ellipsize(props.path, props.max)}
      </code>
    </div>
  );
}
