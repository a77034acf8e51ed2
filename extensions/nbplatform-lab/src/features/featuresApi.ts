import { query, requestAPI } from '../common/api';
import type { IRun } from '../jobs/jobsApi';
import type {
  IFeatureServiceList,
  IFeatureViewDetail,
  IFeatureViewList,
  IMaterializationList
} from './types';

/** Feature views per page of the panel. */
export const VIEWS_PAGE = 25;

export function listViews(pageToken: string | null): Promise<IFeatureViewList> {
  return requestAPI<IFeatureViewList>(
    'features/views' + query({ max_results: VIEWS_PAGE, page_token: pageToken })
  );
}

/** One feature view with the statistics of its source. */
export function getView(name: string): Promise<IFeatureViewDetail> {
  return requestAPI<IFeatureViewDetail>(
    `features/views/${encodeURIComponent(name)}`
  );
}

export function listServices(
  pageToken: string | null
): Promise<IFeatureServiceList> {
  return requestAPI<IFeatureServiceList>(
    'features/services' + query({ page_token: pageToken })
  );
}

/** The newest materializations of `view` (of every view for null). */
export function listMaterializations(
  view: string | null,
  pageToken: string | null = null,
  pageSize = 5
): Promise<IMaterializationList> {
  return requestAPI<IMaterializationList>(
    'features/materializations' +
      query({ view, max_results: pageSize, page_token: pageToken })
  );
}

/** A run of a job (the one a materialization ran in). */
export function getRun(runId: string): Promise<IRun> {
  return requestAPI<IRun>(`runs/${encodeURIComponent(runId)}`);
}
