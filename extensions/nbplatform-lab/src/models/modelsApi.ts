import { query, requestAPI } from '../common/api';

/**
 * One `key`/`value` tag, as MLflow's REST API sends tags.
 */
export interface ITag {
  key: string;
  value: string;
}

/**
 * One alias of a registered model.
 */
export interface IModelAlias {
  alias: string;
  version: string;
}

/**
 * A model version, as MLflow's REST API describes it.
 *
 * `metrics` is not part of MLflow's answer; it is shown when the platform adds
 * the metrics of the version's run.
 */
export interface IModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  user_id?: string;
  description?: string;
  source?: string;
  run_id?: string;
  status?: string;
  tags?: ITag[];
  aliases?: string[];
  metrics?: Record<string, number> | ITag[];
  /** The params of the version's run, as the platform adds them. */
  params?: Record<string, string>;
}

/**
 * A registered model, as MLflow's REST API describes it.
 */
export interface IRegisteredModel {
  name: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  tags?: ITag[];
  aliases?: IModelAlias[];
  latest_versions?: IModelVersion[];
}

export interface IModelList {
  registered_models: IRegisteredModel[];
  next_page_token?: string | null;
}

/** Who owns a registered model and who may change it (`api/models/<name>`). */
export interface IModelPermissions {
  owner: string | null;
  may_edit: { users: string[]; groups: string[] };
  my_permission: 'READ' | 'EDIT' | 'MANAGE';
}

export interface IModelDetail {
  registered_model: IRegisteredModel;
  model_versions: IModelVersion[];
  next_page_token?: string | null;
  permissions?: IModelPermissions;
}

/**
 * The capability (a key of `api/me`'s `can`) to approve promotions, move
 * protected aliases and edit every model.
 */
export const CAN_APPROVE = 'models_approve';

/**
 * One line saying who may edit: the owner, grantees, and the members of the
 * roles that may edit every model (`api/me`'s `granted_by`).
 *
 * @param permissions - The model's permissions.
 * @param everyModel - The roles that may edit every model, e.g. as
 *   rolesGranting(me, CAN_APPROVE) gives them.
 */
export function editorsLine(
  permissions: IModelPermissions,
  everyModel: readonly string[]
): string {
  const { users, groups } = permissions.may_edit;
  const names = [
    ...users,
    ...groups.map(g => `group ${g}`),
    ...everyModel.map(role => `${role}s`)
  ];
  return names.join(', ');
}

export type PromotionState = 'pending' | 'approving' | 'approved' | 'rejected';

/**
 * A request to point an alias of a model at a version.
 */
export interface IPromotion {
  id: number;
  model: string;
  version: string;
  alias: string;
  base_version?: string | null;
  state: PromotionState;
  note?: string | null;
  requested_by: string;
  requested_at: string;
  decided_by?: string | null;
  decided_at?: string | null;
  comment?: string | null;
  /** What the signed-in user may do with the request, and who decides it. */
  rights?: IPromotionRights;
  /** The review the platform started for the request (null: made before reviews). */
  review?: IPromotionReview | null;
}

/** The notebook a promotion's review runs (packaged with the platform). */
export const REVIEW_NOTEBOOK = 'nbplatform:review_promotion.ipynb';

/**
 * The review of a promotion request: a run of the requester's job
 * `promotion-review`, or why none was started.
 */
export interface IPromotionReview {
  job_id: string | null;
  run_id: string | null;
  /** Why the review was not started (null when it was). */
  error: string | null;
}

/**
 * Four eyes: unless the platform allows self-approval, nobody approves a
 * request they made.
 */
export interface IPromotionRights {
  may_approve: boolean;
  may_reject: boolean;
  /** Why the user may not approve (null when they may). */
  reason: string | null;
  /** Who decides, in words ("platform admins other than alice"). */
  deciders: string;
}

export interface IPromotionList {
  promotions: IPromotion[];
  next_page_token: string | null;
}

/** Lineage tags the platform puts on runs and model versions. */
export const TAG_NOTEBOOK = 'nbp.notebook';
export const TAG_USER = 'nbp.user';
export const TAG_JOB_ID = 'nbp.job_id';
export const TAG_JOB_RUN_ID = 'nbp.job_run_id';
export const TAG_GIT_COMMIT = 'mlflow.source.git.commit';
export const TAG_GIT_DIRTY = 'nbp.git_dirty';
export const TAG_REGISTERED_BY = 'nbp.registered_by';

/** What a version's lineage tags say, in the words the panel shows. */
export interface IProvenance {
  /** Who made the run (`nbp.user`). */
  author?: string;
  /** The commit, shortened, and whether the repository had changes. */
  commit?: { short: string; full: string; dirty: boolean };
  /** The job run that made it. */
  jobRun?: { job: string; run: string };
  /** Who registered the version. */
  registeredBy?: string;
}

/**
 * Read a version's provenance from its tags.
 */
export function provenanceOf(tags: ITag[] | undefined): IProvenance {
  const commit = tagValue(tags, TAG_GIT_COMMIT);
  const job = tagValue(tags, TAG_JOB_ID);
  const run = tagValue(tags, TAG_JOB_RUN_ID);
  return {
    author: tagValue(tags, TAG_USER),
    commit: commit
      ? {
          short: commit.slice(0, 7),
          full: commit,
          dirty: tagValue(tags, TAG_GIT_DIRTY) === 'true'
        }
      : undefined,
    jobRun: job && run ? { job, run } : undefined,
    registeredBy: tagValue(tags, TAG_REGISTERED_BY)
  };
}

/**
 * The MLflow filter that finds models whose name contains `text`.
 */
export function nameFilter(text: string): string | null {
  const trimmed = text.trim();
  if (!trimmed) {
    return null;
  }
  return `name LIKE '%${trimmed.replace(/'/g, "''")}%'`;
}

export function searchModels(
  search: string,
  pageToken: string | null,
  pageSize = 25
): Promise<IModelList> {
  return requestAPI<IModelList>(
    'models' +
      query({
        filter: nameFilter(search),
        max_results: pageSize,
        page_token: pageToken,
        order_by: 'name ASC'
      })
  );
}

export function getModel(
  name: string,
  pageToken: string | null = null,
  pageSize = 20
): Promise<IModelDetail> {
  return requestAPI<IModelDetail>(
    `models/${encodeURIComponent(name)}` +
      query({ max_results: pageSize, page_token: pageToken })
  );
}

/** One value of a metric at a step of its run. */
export interface IMetricPoint {
  step: number;
  value: number;
  timestamp?: number | null;
}

/**
 * The metric history of the run that made a version
 * (`api/models/<name>/versions/<version>/metric-history`).
 */
export interface IMetricHistory {
  name: string;
  version: string;
  run_id: string | null;
  metrics: Record<string, IMetricPoint[]>;
  /** Some metrics or points were left out. */
  truncated: boolean;
}

export function getMetricHistory(
  name: string,
  version: string
): Promise<IMetricHistory> {
  return requestAPI<IMetricHistory>(
    `models/${encodeURIComponent(name)}/versions/` +
      `${encodeURIComponent(version)}/metric-history`
  );
}

/** The result of an audited request. */
export type AuditResult = 'allowed' | 'refused' | 'conflict' | 'failed';

/** One entry of the audit log (`api/audit`). */
export interface IAuditEntry {
  id: number;
  ts: string;
  user: string;
  kind: string;
  action: string;
  method: string;
  path: string;
  resource?: string | null;
  result: AuditResult;
  status: number;
  detail?: string | null;
  model?: string | null;
  version?: string | null;
  alias?: string | null;
}

export interface IAuditList {
  entries: IAuditEntry[];
  next_page_token: string | null;
}

/** The filters of the audit log, as `api/audit` takes them. */
export interface IAuditFilters {
  model: string;
  user: string;
  /** A prefix of the action, e.g. `promotion:`. */
  action: string;
  result: AuditResult | '';
}

export const NO_AUDIT_FILTERS: IAuditFilters = {
  model: '',
  user: '',
  action: '',
  result: ''
};

/**
 * The capability (a key of `api/me`'s `can`) to read the audit log.
 */
export const CAN_READ_AUDIT = 'audit_read';

/**
 * The query of `api/audit` for `filters` (trimmed; empty ones left out).
 */
export function auditQuery(
  filters: IAuditFilters,
  pageToken: string | null = null,
  pageSize = 25
): string {
  return query({
    model: filters.model.trim(),
    user: filters.user.trim(),
    action: filters.action.trim(),
    result: filters.result,
    max_results: pageSize,
    page_token: pageToken
  });
}

export function listAudit(
  filters: IAuditFilters,
  pageToken: string | null = null
): Promise<IAuditList> {
  return requestAPI<IAuditList>('audit' + auditQuery(filters, pageToken));
}

export function listPromotions(
  state: PromotionState | null,
  model: string | null = null,
  pageToken: string | null = null
): Promise<IPromotionList> {
  return requestAPI<IPromotionList>(
    'promotions' +
      query({ state, model, max_results: 100, page_token: pageToken })
  );
}

export function decidePromotion(
  id: number,
  verdict: 'approve' | 'reject',
  comment: string
): Promise<IPromotion> {
  return requestAPI<IPromotion>(`promotions/${id}/${verdict}`, {
    method: 'POST',
    body: JSON.stringify({ comment: comment || null })
  });
}

/**
 * The value of tag `key`, if set.
 */
export function tagValue(
  tags: ITag[] | undefined,
  key: string
): string | undefined {
  return tags?.find(tag => tag.key === key)?.value;
}

/**
 * The metrics of a version as `[name, value]` pairs, whichever shape they came in.
 */
export function versionMetrics(version: IModelVersion): [string, number][] {
  const metrics = version.metrics;
  if (!metrics) {
    return [];
  }
  if (Array.isArray(metrics)) {
    return metrics.map(m => [m.key, Number(m.value)]);
  }
  return Object.entries(metrics);
}

/** One metric of a replay: recorded by the version's run, logged by the replay. */
export interface IReplayMetric {
  key: string;
  recorded: number | null;
  new: number | null;
  abs_diff: number | null;
  rel_diff: number | null;
  reproduced: boolean;
}

/**
 * A replay of the job run that made a version
 * (`api/models/<name>/versions/<version>/replays/<run id>`).
 */
export interface IReplay {
  name: string;
  version: string;
  run: { id: string; status: string; job_id: string };
  status: string;
  finished: boolean;
  mlflow_run_id: string | null;
  new_version: string | null;
  rtol: number;
  atol: number;
  /** Null until the run has ended. */
  reproduced: boolean | null;
  metrics: IReplayMetric[];
  new_only: string[];
  message: string | null;
}

/** The answer of `POST .../replay`: the new run and where to follow it. */
export interface IReplayStarted {
  name: string;
  version: string;
  run: { id: string; status: string; job_id: string };
  status_path: string;
}

function versionPath(name: string, version: string): string {
  return `models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`;
}

/**
 * Re-run the job run that made a version (its input snapshot, parameters and
 * profile); the jobs API decides whether the caller may.
 */
export function replayModelVersion(
  name: string,
  version: string
): Promise<IReplayStarted> {
  return requestAPI<IReplayStarted>(`${versionPath(name, version)}/replay`, {
    method: 'POST',
    body: JSON.stringify({})
  });
}

/** How a replay is doing and, once it has ended, its comparison. */
export function getReplay(
  name: string,
  version: string,
  runId: string
): Promise<IReplay> {
  return requestAPI<IReplay>(
    `${versionPath(name, version)}/replays/${encodeURIComponent(runId)}`
  );
}
