import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { reportUrl } from './driftApi';

/**
 * The sandbox of a report's iframe: its scripts run (Evidently's plots need
 * them), in an opaque origin (no `allow-same-origin`), so they can neither
 * read JupyterLab's cookies and XSRF token nor call this server as the user.
 */
export const REPORT_SANDBOX = 'allow-scripts';

/**
 * A check's Evidently report, in a sandboxed iframe.
 */
class ReportFrame extends ReactWidget {
  constructor(
    private readonly _checkId: number,
    private readonly _monitor: string
  ) {
    super();
    this.addClass('nbp-DriftReport');
    this.node.style.height = '100%';
  }

  protected render(): JSX.Element {
    return (
      <iframe
        className="nbp-DriftReport-frame"
        data-testid="nbp-drift-report-frame"
        data-check={this._checkId}
        title={`Drift report of ${this._monitor}, check ${this._checkId}`}
        sandbox={REPORT_SANDBOX}
        referrerPolicy="no-referrer"
        src={reportUrl(this._checkId)}
        style={{ border: 0, height: '100%', width: '100%' }}
      />
    );
  }
}

/**
 * Show the report of check `checkId` of `monitor` in the main area (the one
 * already open when there is one).
 */
export function openReport(
  app: JupyterFrontEnd,
  monitor: string,
  checkId: number
): void {
  const id = `nbp-drift-report-${checkId}`;
  for (const widget of app.shell.widgets('main')) {
    if (widget.id === id) {
      app.shell.activateById(id);
      return;
    }
  }
  const widget = new MainAreaWidget({
    content: new ReportFrame(checkId, monitor)
  });
  widget.id = id;
  widget.title.label = `Drift: ${monitor} #${checkId}`;
  widget.title.closable = true;
  app.shell.add(widget, 'main');
  app.shell.activateById(id);
}
