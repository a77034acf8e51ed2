import * as React from 'react';

import { ErrorLine } from '../common/common';
import { ListItem } from '../common/ListItem';
import { getView } from './featuresApi';
import { IFeatureRow } from './schema';
import { FeaturePicker, useFetched } from './shared';
import { IJoinKey, joinKeysOf } from './snippets';
import type { IFeatureService } from './types';

/** At most this many views of a service are fetched for its schema. */
const MAX_SERVICE_VIEWS = 20;

/**
 * One feature service; expands to its features, with code to use them.
 */
export function ServiceItem(props: {
  service: IFeatureService;
  stamp: number;
}): JSX.Element {
  const { service, stamp } = props;
  const n = service.features.length;
  return (
    <ListItem
      testId="nbp-feature-service"
      data={{ 'data-service': service.name }}
      name={service.name}
      badges={
        <span className="nbp-Muted">
          {n} feature{n === 1 ? '' : 's'} of {service.views.join(', ')}
        </span>
      }
      detail={() => <ServiceDetail service={service} stamp={stamp} />}
    >
      {service.description && (
        <div className="nbp-Description">{service.description}</div>
      )}
    </ListItem>
  );
}

/** The view and the feature of a `view:feature` reference. */
function splitRef(ref: string): [string, string] {
  const at = ref.indexOf(':');
  return at < 0 ? ['', ref] : [ref.slice(0, at), ref.slice(at + 1)];
}

function ServiceDetail(props: {
  service: IFeatureService;
  stamp: number;
}): JSX.Element {
  const { service, stamp } = props;
  const names = service.views.slice(0, MAX_SERVICE_VIEWS);
  const { value: views, error } = useFetched(
    () => Promise.all(names.map(name => getView(name))),
    `${names.join('\n')} ${stamp}`
  );
  const byName = new Map((views ?? []).map(v => [v.name, v]));
  const rows: IFeatureRow[] = service.features.map(ref => {
    const [viewName, feature] = splitRef(ref);
    const view = byName.get(viewName);
    return {
      ref,
      label: ref,
      dtype: view?.features.find(f => f.name === feature)?.dtype ?? null,
      column: view?.stats?.columns.find(c => c.name === feature)
    };
  });
  const joinKeys: IJoinKey[] = [];
  for (const view of views ?? []) {
    for (const key of joinKeysOf(view.entities, view.stats)) {
      if (!joinKeys.some(k => k.name === key.name)) {
        joinKeys.push(key);
      }
    }
  }
  const latest = (views ?? [])
    .map(v => v.stats?.event_time.max ?? null)
    .filter((t): t is string => t !== null)
    .sort()
    .pop();
  return (
    <>
      <ErrorLine message={error} />
      <FeaturePicker
        rows={rows}
        initial={() => service.features}
        plots={views !== null}
        joinKeys={joinKeys}
        eventTime={latest ?? new Date().toISOString()}
      />
    </>
  );
}
