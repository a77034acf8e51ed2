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
  const widget: unknown = await app.commands.execute('docmanager:open', {
    path,
    factory: 'Notebook'
  });
  if (run.failed_cell !== null) {
    await revealCell(widget, run.failed_cell);
  }
  return path;
}

/**
 * The parts of a notebook panel this extension uses (it does not depend on
 * `@jupyterlab/notebook`): its context, and the notebook's active cell.
 */
interface INotebookPanelLike {
  context?: { ready: Promise<void> };
  revealed?: Promise<void>;
  content?: {
    activeCellIndex: number;
    widgets?: readonly { node: HTMLElement }[];
    scrollToItem?: (index: number, behavior?: string) => Promise<void>;
  };
}

/**
 * Make cell `index` of an opened notebook the active one and scroll it into
 * view (the failing cell of a run's output).
 */
export async function revealCell(
  widget: unknown,
  index: number
): Promise<void> {
  const panel = widget as INotebookPanelLike | null;
  const notebook = panel?.content;
  if (!panel || !notebook) {
    return;
  }
  await panel.context?.ready;
  await panel.revealed;
  const count = notebook.widgets?.length ?? index + 1;
  if (index < 0 || index >= count) {
    return;
  }
  notebook.activeCellIndex = index;
  if (typeof notebook.scrollToItem === 'function') {
    await notebook.scrollToItem(index, 'center');
  } else {
    notebook.widgets?.[index]?.node.scrollIntoView({ block: 'center' });
  }
  notebook.widgets?.[index]?.node.setAttribute('data-nbp-failed-cell', 'true');
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
