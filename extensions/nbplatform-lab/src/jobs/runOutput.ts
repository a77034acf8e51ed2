import { JupyterFrontEnd } from '@jupyterlab/application';
import { Contents } from '@jupyterlab/services';

import { INotebookJSON, IRun, runHtml, runOutput } from './jobsApi';

/** The folder of the workspace that receives copies of run outputs. */
export const RUNS_FOLDER = 'job-runs';

/**
 * A file name made of `text`, safe on every file system.
 */
function safeName(text: string): string {
  return (
    text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'job'
  );
}

/**
 * Where the copy of a run's output goes in the workspace.
 */
export function outputCopyPath(jobName: string, run: IRun): string {
  return `${RUNS_FOLDER}/${safeName(jobName)}-${run.id.slice(0, 12)}.ipynb`;
}

/**
 * The notebook with every cell locked (neither editable nor deletable) and a
 * note of the run it came from.
 */
export function readOnlyCopy(
  notebook: INotebookJSON,
  jobName: string,
  run: IRun
): INotebookJSON {
  return {
    ...notebook,
    metadata: {
      ...notebook.metadata,
      nbplatform: {
        job_id: run.job_id,
        job_name: jobName,
        run_id: run.id,
        status: run.status,
        read_only_copy: true
      }
    },
    cells: notebook.cells.map(cell => ({
      ...cell,
      metadata: { ...(cell.metadata ?? {}), editable: false, deletable: false }
    }))
  };
}

async function ensureFolder(
  contents: Contents.IManager,
  path: string
): Promise<void> {
  try {
    await contents.get(path, { content: false });
  } catch {
    await contents.save(path, { type: 'directory' });
  }
}

/**
 * Fetch a run's executed notebook, save a read-only copy in the workspace and
 * open it.
 *
 * @returns The path of the copy.
 */
export async function openRunOutput(
  app: JupyterFrontEnd,
  jobName: string,
  run: IRun
): Promise<string> {
  const notebook = await runOutput(run.id);
  const contents = app.serviceManager.contents;
  await ensureFolder(contents, RUNS_FOLDER);
  const path = outputCopyPath(jobName, run);
  await contents.save(path, {
    type: 'notebook',
    format: 'json',
    content: readOnlyCopy(notebook, jobName, run)
  });
  await app.commands.execute('docmanager:open', { path, factory: 'Notebook' });
  return path;
}

/**
 * Download the run's HTML rendering as a file (it is never shown in the page,
 * where its scripts would act as the user).
 */
export async function downloadRunHtml(
  jobName: string,
  run: IRun
): Promise<string> {
  const { html } = await runHtml(run.id);
  const name = `${safeName(jobName)}-${run.id.slice(0, 12)}.html`;
  const url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
  try {
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    link.rel = 'noopener';
    document.body.appendChild(link);
    link.click();
    link.remove();
  } finally {
    window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  return name;
}
