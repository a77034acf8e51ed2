import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, Notification, ReactWidget } from '@jupyterlab/apputils';
import type { IDocumentWidget } from '@jupyterlab/docregistry';
import { Contents } from '@jupyterlab/services';
import { historyIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { errorMessage, getMe } from '../common/api';
import {
  createJob,
  IJob,
  IJobCreate,
  INotebookJSON,
  Parameters
} from './jobsApi';
import { findParameters, INotebookParameter, parseLiteral } from './parameters';

/** The command that opens the "Schedule this notebook" dialog. */
export const SCHEDULE_COMMAND = 'nbplatform:schedule-notebook';

/**
 * What the user fills in.
 */
interface IScheduleValues {
  name: string;
  parameters: Record<string, string>;
  kind: 'manual' | 'cron';
  cron: string;
  timezone: string;
  profile: string;
}

/**
 * A job name the API accepts, made from the notebook's file name.
 */
export function defaultJobName(path: string): string {
  const base = path.split('/').pop() ?? path;
  const name = base
    .replace(/\.ipynb$/, '')
    .replace(/[^A-Za-z0-9 ._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return (name || 'job').slice(0, 128);
}

/**
 * The body of the dialog: a form whose state lives here, so that the dialog
 * can submit it and show the API's answer without closing.
 */
class ScheduleForm extends ReactWidget {
  values: IScheduleValues;
  error: string | null = null;
  busy = false;
  created: IJob | null = null;

  constructor(
    readonly notebook: string,
    readonly found: INotebookParameter[],
    readonly profiles: string[]
  ) {
    super();
    this.addClass('nbp-ScheduleForm');
    this.values = {
      name: defaultJobName(notebook),
      parameters: found.reduce<Record<string, string>>(
        (all, p) => ({ ...all, [p.name]: p.literal }),
        {}
      ),
      kind: 'manual',
      cron: '0 3 * * *',
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
      profile: ''
    };
  }

  getValue(): IJob | null {
    return this.created;
  }

  /**
   * The request body, or an error message naming the first bad field.
   */
  body(): IJobCreate | string {
    const { name, kind, cron, timezone, profile } = this.values;
    const parameters: Parameters = {};
    for (const p of this.found) {
      const text = this.values.parameters[p.name] ?? '';
      if (text.trim() === p.literal) {
        continue; // the notebook's own default
      }
      const value = parseLiteral(text);
      if (value === undefined) {
        return `parameters.${p.name}: ${JSON.stringify(text)} is not a Python literal (quote strings, e.g. "abc").`;
      }
      parameters[p.name] = value;
    }
    const body: IJobCreate = {
      name: name.trim(),
      notebook: this.notebook,
      parameters
    };
    if (kind === 'cron') {
      body.cron = cron.trim();
      body.timezone = timezone.trim() || 'UTC';
    }
    if (profile) {
      body.profile = profile;
    }
    return body;
  }

  /**
   * Create the job; on refusal keep the dialog open with the API's message.
   *
   * @returns Whether the job was created.
   */
  async submit(): Promise<boolean> {
    if (this.busy) {
      return false;
    }
    const body = this.body();
    if (typeof body === 'string') {
      this.error = body;
      this.update();
      return false;
    }
    this.busy = true;
    this.error = null;
    this.update();
    try {
      this.created = await createJob(body);
      return true;
    } catch (error) {
      this.error = errorMessage(error);
      return false;
    } finally {
      this.busy = false;
      this.update();
    }
  }

  private set(change: Partial<IScheduleValues>): void {
    this.values = { ...this.values, ...change };
    this.update();
  }

  protected render(): JSX.Element {
    const v = this.values;
    return (
      <div className="nbp-Form" data-testid="nbp-schedule-form">
        <div className="nbp-Muted">
          notebook{' '}
          <code data-testid="nbp-schedule-notebook">{this.notebook}</code>
        </div>
        <label className="nbp-Field">
          <span>Job name</span>
          <input
            data-testid="nbp-schedule-name"
            value={v.name}
            onChange={e => this.set({ name: e.target.value })}
          />
        </label>
        <fieldset className="nbp-Fieldset">
          <legend>Parameters</legend>
          {this.found.length === 0 && (
            <div className="nbp-Muted">
              No cell tagged &quot;parameters&quot;: the notebook runs as it is.
            </div>
          )}
          {this.found.map(p => (
            <label className="nbp-Field nbp-Field-inline" key={p.name}>
              <code>{p.name}</code>
              <input
                data-testid="nbp-schedule-param"
                data-param={p.name}
                value={v.parameters[p.name] ?? ''}
                onChange={e =>
                  this.set({
                    parameters: { ...v.parameters, [p.name]: e.target.value }
                  })
                }
              />
            </label>
          ))}
        </fieldset>
        <fieldset className="nbp-Fieldset">
          <legend>Schedule</legend>
          <select
            data-testid="nbp-schedule-kind"
            value={v.kind}
            onChange={e =>
              this.set({ kind: e.target.value === 'cron' ? 'cron' : 'manual' })
            }
          >
            <option value="manual">Manual runs only</option>
            <option value="cron">Cron</option>
          </select>
          {v.kind === 'cron' && (
            <>
              <label className="nbp-Field nbp-Field-inline">
                <span>cron</span>
                <input
                  data-testid="nbp-schedule-cron"
                  value={v.cron}
                  placeholder="minute hour day month weekday"
                  onChange={e => this.set({ cron: e.target.value })}
                />
              </label>
              <label className="nbp-Field nbp-Field-inline">
                <span>time zone</span>
                <input
                  data-testid="nbp-schedule-timezone"
                  value={v.timezone}
                  onChange={e => this.set({ timezone: e.target.value })}
                />
              </label>
            </>
          )}
        </fieldset>
        <label className="nbp-Field">
          <span>Profile</span>
          <select
            data-testid="nbp-schedule-profile"
            value={v.profile}
            onChange={e => this.set({ profile: e.target.value })}
          >
            <option value="">My default profile</option>
            {this.profiles.map(p => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        {this.busy && <div className="nbp-Muted">Checking…</div>}
        {this.error && (
          <div
            className="nbp-Error"
            role="alert"
            data-testid="nbp-schedule-error"
          >
            {this.error}
          </div>
        )}
      </div>
    );
  }
}

/**
 * A dialog whose accept button submits the form and closes only on success.
 */
class ScheduleDialog extends Dialog<IJob | null> {
  constructor(
    private readonly _form: ScheduleForm,
    private readonly _buttonList: ReadonlyArray<Dialog.IButton>
  ) {
    super({
      title: 'Schedule this notebook',
      body: _form,
      buttons: _buttonList,
      focusNodeSelector: 'input'
    });
  }

  resolve(index?: number): void {
    const button = this._buttonList[index ?? this._buttonList.length - 1];
    if (!button?.accept || this._form.created) {
      super.resolve(index);
      return;
    }
    void this._form.submit().then(ok => {
      if (ok) {
        super.resolve(index);
      }
    });
  }
}

/**
 * The path of the notebook the command is about, relative to the workspace.
 */
function targetPath(
  app: JupyterFrontEnd,
  args: { path?: unknown; origin?: unknown }
): { path: string; widget: IDocumentWidget | null } | null {
  const contents = app.serviceManager.contents;
  if (typeof args.path === 'string' && args.path) {
    return { path: contents.localPath(args.path), widget: null };
  }
  if (args.origin === 'filebrowser') {
    const path = selectedNotebook(app);
    return path ? { path: contents.localPath(path), widget: null } : null;
  }
  const widget = app.shell.currentWidget;
  if (isDocumentWidget(widget) && widget.context.path.endsWith('.ipynb')) {
    return { path: contents.localPath(widget.context.path), widget };
  }
  return null;
}

function isDocumentWidget(widget: unknown): widget is IDocumentWidget {
  const context = (widget as Partial<IDocumentWidget> | null)?.context;
  return !!context && typeof context.path === 'string';
}

/**
 * What this command needs of the file browser.
 */
interface IFileBrowserLike {
  selectedItems(): IterableIterator<Contents.IModel>;
}

/**
 * The notebook selected in the file browser (the one right-clicked).
 */
function selectedNotebook(app: JupyterFrontEnd): string | null {
  for (const widget of app.shell.widgets('left')) {
    const browser = widget as unknown as Partial<IFileBrowserLike>;
    if (
      widget.id === 'filebrowser' &&
      typeof browser.selectedItems === 'function'
    ) {
      for (const item of browser.selectedItems()) {
        if (item.type === 'notebook' || item.path.endsWith('.ipynb')) {
          return item.path;
        }
      }
    }
  }
  return null;
}

/**
 * Open the dialog for `path`; resolve with the created job, if any.
 */
export async function scheduleNotebook(
  app: JupyterFrontEnd,
  path: string
): Promise<IJob | null> {
  const [model, me] = await Promise.all([
    app.serviceManager.contents.get(path, { content: true, type: 'notebook' }),
    getMe().catch(() => null)
  ]);
  const found = findParameters(model.content as INotebookJSON);
  const profiles = me?.server.profile ? [me.server.profile] : [];
  const form = new ScheduleForm(path, found, profiles);
  const dialog = new ScheduleDialog(form, [
    Dialog.cancelButton(),
    Dialog.okButton({ label: 'Schedule' })
  ]);
  const result = await dialog.launch();
  return result.button.accept ? result.value : null;
}

/**
 * Add the "Schedule this notebook" command (notebook toolbar, file browser
 * context menu; both placed by the settings schema).
 */
export function addScheduleCommand(
  app: JupyterFrontEnd,
  onScheduled: (job: IJob) => void
): void {
  app.commands.addCommand(SCHEDULE_COMMAND, {
    label: 'Schedule this notebook',
    caption: 'Run this notebook as a job on the platform (papermill)',
    icon: args => (args.origin === 'toolbar' ? historyIcon : undefined),
    execute: async args => {
      const target = targetPath(app, args);
      if (!target) {
        Notification.warning('Select a notebook to schedule.', {
          autoClose: 4000
        });
        return;
      }
      try {
        if (target.widget?.context.model.dirty) {
          await target.widget.context.save();
        }
        const job = await scheduleNotebook(app, target.path);
        if (job) {
          Notification.success(`Scheduled ${job.name}.`, { autoClose: 4000 });
          onScheduled(job);
        }
      } catch (error) {
        Notification.error(
          `Could not schedule ${target.path}: ${errorMessage(error)}`,
          { autoClose: 8000 }
        );
      }
    }
  });
}
