import { JupyterFrontEnd } from '@jupyterlab/application';
import { ReactWidget } from '@jupyterlab/apputils';
import type { Message } from '@lumino/messaging';
import * as React from 'react';

import { errorMessage, getMe } from './common/api';
import { PlatformContext } from './common/common';
import { MeState, UserHeader } from './common/header';
import { DriftSection } from './drift/drift';
import { FeaturesSection } from './features/features';
import { JobsSection } from './jobs/jobs';
import { ModelsSection } from './models/models';

/**
 * The id of the sidebar widget (used by the layout restorer and by tests).
 */
export const SIDEBAR_ID = 'nbplatform-sidebar';

/**
 * Fetch the signed-in user once on mount and again on demand.
 */
function useMe(): [MeState, () => void] {
  const [state, setState] = React.useState<MeState>({ status: 'loading' });
  const [generation, setGeneration] = React.useState(0);

  React.useEffect(() => {
    let current = true;
    setState({ status: 'loading' });
    getMe()
      .then(me => {
        if (current) {
          setState({ status: 'ready', me });
        }
      })
      .catch((error: unknown) => {
        if (current) {
          setState({ status: 'error', message: errorMessage(error) });
        }
      });
    return () => {
      current = false;
    };
  }, [generation]);

  return [state, () => setGeneration(g => g + 1)];
}

/**
 * The content of the sidebar: the user header, then one section per capability.
 */
export function PlatformPanel(props: {
  app: JupyterFrontEnd;
  visible: boolean;
  generation: number;
}): JSX.Element {
  const { app, visible, generation } = props;
  const [me, refresh] = useMe();
  const context = React.useMemo(
    () => ({ app, visible, me: me.status === 'ready' ? me.me : null }),
    [app, visible, me]
  );
  return (
    <PlatformContext.Provider value={context}>
      <div className="nbp-Panel" data-testid="nbp-sidebar">
        <UserHeader state={me} onRefresh={refresh} />
        <ModelsSection key={`models-${generation}`} />
        <FeaturesSection key={`features-${generation}`} />
        <DriftSection key={`drift-${generation}`} />
        <JobsSection key={`jobs-${generation}`} />
      </div>
    </PlatformContext.Provider>
  );
}

/**
 * The "Platform" panel of the left sidebar.
 */
export class PlatformSidebar extends ReactWidget {
  private _generation = 0;

  constructor(private readonly _app: JupyterFrontEnd) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('nbp-Sidebar');
  }

  /**
   * Reload every section (e.g. after a job was scheduled).
   */
  refresh(): void {
    this._generation += 1;
    this.update();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.update();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.update();
  }

  protected render(): JSX.Element {
    return (
      <PlatformPanel
        app={this._app}
        visible={this.isVisible}
        generation={this._generation}
      />
    );
  }
}
