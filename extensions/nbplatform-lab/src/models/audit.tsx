import * as React from 'react';

import { formatTime, SmallButton, StatusBadge } from '../common/common';
import { PagedList } from '../common/ListItem';
import { pageOf, usePanelResource } from '../common/usePanelResource';
import { auditKey, auditSubject, ellipsize } from './format';
import {
  AuditResult,
  IAuditEntry,
  IAuditFilters,
  listAudit,
  NO_AUDIT_FILTERS
} from './modelsApi';

const RESULTS: AuditResult[] = ['allowed', 'refused', 'conflict', 'failed'];

/**
 * The audit log (platform admins), behind a toggle: filtered like `api/audit`
 * (model, user, action prefix, result), newest first, a page at a time.
 */
export function AuditLog(): JSX.Element {
  const [open, setOpen] = React.useState(false);
  return (
    <div className="nbp-Audit" data-testid="nbp-audit">
      <SmallButton
        label={open ? '▾ Audit log' : '▸ Audit log'}
        title="Who did what to models, promotions and MLflow (platform admins)"
        testId="nbp-audit-toggle"
        onClick={() => setOpen(!open)}
      />
      {open && <AuditEntries />}
    </div>
  );
}

function AuditEntries(): JSX.Element {
  const [filters, setFilters] = React.useState<IAuditFilters>(NO_AUDIT_FILTERS);
  const entries = usePanelResource<IAuditEntry>({
    fetchPage: async token =>
      pageOf(await listAudit(filters, token), 'entries'),
    keyOf: entry => String(entry.id),
    query: auditKey(filters),
    debounceMs: 300
  });
  const set =
    (key: keyof IAuditFilters) =>
    (event: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>): void =>
      setFilters({ ...filters, [key]: event.target.value });
  const filtered = auditKey(filters) !== auditKey(NO_AUDIT_FILTERS);

  return (
    <div className="nbp-Audit-body" data-testid="nbp-audit-log">
      <div className="nbp-AuditFilters">
        <input
          type="search"
          className="nbp-Search"
          placeholder="model"
          aria-label="Audit: model"
          data-testid="nbp-audit-model"
          value={filters.model}
          onChange={set('model')}
        />
        <input
          type="search"
          className="nbp-Search"
          placeholder="user"
          aria-label="Audit: user"
          data-testid="nbp-audit-user"
          value={filters.user}
          onChange={set('user')}
        />
        <input
          type="search"
          className="nbp-Search"
          placeholder="action (prefix)"
          aria-label="Audit: action prefix"
          data-testid="nbp-audit-action"
          value={filters.action}
          onChange={set('action')}
        />
        <select
          className="nbp-Select"
          aria-label="Audit: result"
          data-testid="nbp-audit-result"
          value={filters.result}
          onChange={set('result')}
        >
          <option value="">any result</option>
          {RESULTS.map(r => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </div>
      <PagedList
        resource={entries}
        loading={
          <div className="nbp-Muted" data-testid="nbp-audit-loading">
            Loading…
          </div>
        }
        empty={
          <p className="nbp-Placeholder" data-testid="nbp-audit-empty">
            {filtered ? 'No entry matches.' : 'The audit log is empty.'}
          </p>
        }
        moreTestId="nbp-audit-more"
      >
        {entry => <AuditItem key={entry.id} entry={entry} />}
      </PagedList>
    </div>
  );
}

function AuditItem(props: { entry: IAuditEntry }): JSX.Element {
  const { entry } = props;
  const subject = auditSubject(entry);
  return (
    <li
      className="nbp-AuditEntry"
      data-testid="nbp-audit-entry"
      data-audit-id={entry.id}
      data-action={entry.action}
      data-result={entry.result}
    >
      <div>
        <b data-testid="nbp-audit-entry-action">{entry.action}</b>{' '}
        <StatusBadge status={entry.result} testId="nbp-audit-entry-result" />
      </div>
      <div className="nbp-Muted">
        <span data-testid="nbp-audit-entry-user">{entry.user}</span>
        {' · '}
        {formatTime(entry.ts)}
        {' · '}
        {entry.status}
      </div>
      <div title={subject} data-testid="nbp-audit-entry-subject">
        {ellipsize(subject, 40)}
      </div>
      {entry.detail && (
        <div className="nbp-Muted" title={entry.detail}>
          {ellipsize(entry.detail, 80)}
        </div>
      )}
    </li>
  );
}
