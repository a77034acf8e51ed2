import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';

import { driftAlerts, DriftAlertsStatus } from './drift/alerts';
import { focusRun } from './jobs/focus';
import { IRun } from './jobs/jobsApi';
import { watchFailedRuns } from './jobs/notify';
import { openRunOutput } from './jobs/runOutput';
import { addScheduleCommand } from './jobs/schedule';
import { PlatformSidebar } from './sidebar';
import platformIconSvg from '../style/icons/platform.svg';

const PLUGIN_ID = 'nbplatform-lab:plugin';

/**
 * The icon of the Platform panel.
 */
export const platformIcon = new LabIcon({
  name: 'nbplatform-lab:platform',
  svgstr: platformIconSvg
});

/**
 * Adds the Platform panel to the left sidebar.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'The nbplatform sidebar (user, models, features, drift, jobs), "Schedule this notebook" and notices of failed runs.',
  autoStart: true,
  optional: [ILayoutRestorer, ISettingRegistry, IStatusBar],
  activate: async (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    statusBar: IStatusBar | null
  ): Promise<void> => {
    let rank = 200;
    if (settingRegistry) {
      try {
        const settings = await settingRegistry.load(PLUGIN_ID);
        rank = settings.get('rank').composite as number;
      } catch (reason) {
        console.warn('nbplatform-lab: could not load settings', reason);
      }
    }

    const sidebar = new PlatformSidebar(app);
    sidebar.title.icon = platformIcon;
    sidebar.title.caption = 'Platform';
    app.shell.add(sidebar, 'left', { rank });
    if (restorer) {
      restorer.add(sidebar, sidebar.id);
    }

    const showJobs = (): void => {
      app.shell.activateById(sidebar.id);
      sidebar.refresh();
    };
    addScheduleCommand(app, showJobs);
    // A failure notice: show the run in the Jobs panel, or open its output at
    // the failing cell.
    const showRun = (run: IRun): void => {
      focusRun(run.job_id, run.id);
      showJobs();
    };
    const openOutput = (run: IRun): void => {
      openRunOutput(app, run.job_name ?? run.job_id, run).catch(
        (error: unknown) => {
          Notification.error(
            `Open output: ${error instanceof Error ? error.message : String(error)}`,
            { autoClose: 8000 }
          );
        }
      );
    };
    watchFailedRuns(showRun, openOutput);

    // Drift alerts: a count in the status bar, a notification per new check.
    const showDrift = (): void => {
      app.shell.activateById(sidebar.id);
      sidebar.refresh();
    };
    if (statusBar) {
      statusBar.registerStatusItem('nbplatform-lab:drift-alerts', {
        item: new DriftAlertsStatus(driftAlerts, showDrift),
        align: 'left',
        rank: 100
      });
    }
    driftAlerts.start(showDrift);
  }
};

export default plugin;
