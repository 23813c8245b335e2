import { useEffect, useState } from 'react';
import { errorText, isAbort, type ResultInfo } from '../lib/api';
import { actorLabel, auditDetails, auditKind, describeAction, tokenOf } from '../lib/audit';
import { formatDate, localInputToIso, relativeTime } from '../lib/format';
import { navigate, useLocation } from '../lib/router';
import { useApi } from '../lib/session';
import type { AccessApp, AuditEntry } from '../lib/types';
import { TokenPicker } from '../components/token-picker';
import { ErrorBox, PageTitle, Pager } from '../components/ui';

const ACTIONS = [
  { value: '', label: 'All actions and decisions' },
  { value: 'access.allowed', label: 'Access allowed' },
  { value: 'access.denied', label: 'Access denied' },
  { value: 'service_token.created', label: 'Token created' },
  { value: 'service_token.updated', label: 'Token updated' },
  { value: 'service_token.refreshed', label: 'Token refreshed' },
  { value: 'service_token.rotated', label: 'Token secret rotated' },
  { value: 'service_token.deleted', label: 'Token deleted' },
  { value: 'access_policy.created', label: 'Policy created' },
  { value: 'access_policy.updated', label: 'Policy updated' },
  { value: 'access_policy.deleted', label: 'Policy deleted' },
];

/** Filters live in the URL (shareable, survive reload): resource_id (app), token_id, action, since, before, page. */
export function AuditPage() {
  const api = useApi();
  const { search } = useLocation();
  const resourceId = search.get('resource_id') ?? '';
  const tokenId = search.get('token_id') ?? '';
  const action = search.get('action') ?? '';
  const since = search.get('since') ?? '';
  const before = search.get('before') ?? '';
  const page = Math.max(1, Number(search.get('page')) || 1);
  const [rows, setRows] = useState<AuditEntry[] | null>(null);
  const [info, setInfo] = useState<ResultInfo>();
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [apps, setApps] = useState<AccessApp[]>([]);
  const [token, setToken] = useState<Array<{ id: string; name: string }>>([]);

  const set = (changes: Record<string, string>) => {
    const sp = new URLSearchParams(search);
    for (const [k, v] of Object.entries(changes)) {
      if (v) sp.set(k, v);
      else sp.delete(k);
    }
    if (!('page' in changes)) sp.delete('page');
    const s = sp.toString();
    navigate(`/audit${s ? `?${s}` : ''}`, { replace: !('page' in changes) });
  };

  useEffect(() => {
    api
      .get<AccessApp[]>('/access/apps', { per_page: 100 })
      .then(({ result }) => setApps(result))
      .catch(() => setApps([]));
  }, [api]);

  useEffect(() => {
    const ctl = new AbortController();
    setError(null);
    setLoading(true);
    api
      .get<AuditEntry[]>(
        '/audit_logs',
        {
          resource_id: resourceId,
          token_id: tokenId,
          'action.type': action,
          since: localInputToIso(since),
          before: localInputToIso(before),
          page,
          per_page: 50,
        },
        ctl.signal,
      )
      .then(({ result, info }) => {
        setRows(result);
        setInfo(info);
        setLoading(false);
      })
      .catch((e) => {
        if (isAbort(e)) return;
        setError(errorText(e));
        setLoading(false);
      });
    return () => ctl.abort();
  }, [api, resourceId, tokenId, action, since, before, page]);

  const rangeError = since && before && Date.parse(since) >= Date.parse(before) ? '"From" must be before "Until".' : null;
  const appSelected = apps.some((a) => a.id === resourceId);

  return (
    <div className="page">
      <PageTitle>Audit log</PageTitle>
      <form className="card filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <div className="grid3">
          <div className="field">
            <label htmlFor="f-app">Application</label>
            <select id="f-app" value={appSelected ? resourceId : ''} onChange={(e) => set({ resource_id: e.target.value })}>
              <option value="">Any application</option>
              {apps.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-action">Action or decision</label>
            <select id="f-action" value={action} onChange={(e) => set({ action: e.target.value })}>
              {ACTIONS.map((a) => (
                <option key={a.value} value={a.value}>
                  {a.label}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-since">From</label>
            <input id="f-since" type="datetime-local" value={since} onChange={(e) => set({ since: e.target.value })} />
          </div>
          <div className="field">
            <label htmlFor="f-before">Until</label>
            <input
              id="f-before"
              type="datetime-local"
              value={before}
              aria-invalid={rangeError ? true : undefined}
              onChange={(e) => set({ before: e.target.value })}
            />
            {rangeError ? <p className="field-error">{rangeError}</p> : null}
          </div>
        </div>
        <details open={!!tokenId}>
          <summary>Filter by service token{tokenId ? ` (${token[0]?.name ?? tokenId})` : ''}</summary>
          <TokenPicker
            multiple={false}
            label="Token"
            selected={token}
            onChange={(v) => {
              setToken(v);
              set({ token_id: v[0]?.id ?? '' });
            }}
          />
          <TokenIdField
            value={tokenId}
            onChange={(id) => {
              setToken([]);
              set({ token_id: id });
            }}
          />
        </details>
        {resourceId || tokenId || action || since || before ? (
          <button type="button" className="btn btn-small" onClick={() => (setToken([]), navigate('/audit', { replace: true }))}>
            Clear filters
          </button>
        ) : null}
      </form>
      <ErrorBox error={error} title="Could not load the audit log." />
      {rows ? (
        <>
          <table className="table responsive" aria-busy={loading}>
            <caption className="sr-only">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Resource</th>
                <th scope="col">Actor</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => {
                const kind = auditKind(e);
                const actor = actorLabel(e);
                const about = tokenOf(e);
                return (
                  <tr key={e.id}>
                    <td data-label="When">
                      <time dateTime={e.when} title={relativeTime(e.when)}>
                        {formatDate(e.when)}
                      </time>
                    </td>
                    <td data-label="Action">
                      <span className={`badge badge-${kind}`}>{describeAction(e.action.type)}</span>
                    </td>
                    <td data-label="Resource">
                      {e.resource.name ?? e.resource.id ?? '—'} <span className="muted">{e.resource.type}</span>
                    </td>
                    <td data-label="Actor">
                      {actor.name} <span className="muted">{actor.kind}</span>
                      {e.actor.ip ? <span className="muted"> {e.actor.ip}</span> : null}
                      {about && about.id !== tokenId ? (
                        <button type="button" className="btn btn-link btn-small" onClick={() => (setToken([about]), set({ token_id: about.id }))}>
                          Only this token<span className="sr-only"> ({about.name})</span>
                        </button>
                      ) : null}
                    </td>
                    <td data-label="Details" className="small">
                      <dl className="audit-details">
                        {auditDetails(e.metadata, formatDate).map((d) => (
                          <div key={d.label}>
                            <dt>{d.label}</dt>
                            <dd>{d.value}</dd>
                          </div>
                        ))}
                      </dl>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {rows.length === 0 ? <p className="empty">No event matches these filters.</p> : null}
          <Pager info={info} noun="events" onPage={(p) => set({ page: String(p) })} />
        </>
      ) : null}
    </div>
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A deleted token cannot be searched for: filter by its ID (or use "Only this token" on one of its events). */
function TokenIdField({ value, onChange }: { value: string; onChange(id: string): void }) {
  const [text, setText] = useState(value);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setText(value), [value]);
  return (
    <div className="field field-inline">
      <label htmlFor="f-token-id">Or a token ID (also of a deleted token)</label>
      <input
        id="f-token-id"
        value={text}
        autoComplete="off"
        aria-invalid={error ? true : undefined}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key !== 'Enter') return;
          e.preventDefault();
          const id = text.trim();
          if (id && !UUID.test(id)) return setError('A token ID looks like 3f2a…-…: 36 characters.');
          setError(null);
          onChange(id);
        }}
      />
      <p className="hint">Press Enter to apply.</p>
      {error ? <p className="field-error">{error}</p> : null}
    </div>
  );
}
