import { ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { errorMessage, IMe, requestAPI } from './api';
import { MeState, UserHeader } from './header';
import {
  DriftSection,
  FeaturesSection,
  JobsSection,
  ModelsSection
} from './sections';

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
    requestAPI<IMe>('me')
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
export function PlatformPanel(): JSX.Element {
  const [me, refresh] = useMe();
  return (
    <div className="nbp-Panel" data-testid="nbp-sidebar">
      <UserHeader state={me} onRefresh={refresh} />
      <ModelsSection />
      <FeaturesSection />
      <DriftSection />
      <JobsSection />
    </div>
  );
}

/**
 * The "Platform" panel of the left sidebar.
 */
export class PlatformSidebar extends ReactWidget {
  constructor() {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('nbp-Sidebar');
  }

  protected render(): JSX.Element {
    return <PlatformPanel />;
  }
}
