import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, errorText, isAbort } from '../lib/api';
import { auditKind, describeAction } from '../lib/audit';
import { describeDuration, formatDate, nameError, relativeTime } from '../lib/format';
import { setFlash } from '../lib/flash';
import { Link, navigate } from '../lib/router';
import { useApi, useGet } from '../lib/session';
import { useAction } from '../lib/use-action';
import type { AuditEntry, ServiceToken, ServiceTokenWithSecret, TokenPolicy } from '../lib/types';
import { UsageChart } from '../components/charts';
import { DurationPicker, validateDuration } from '../components/duration-picker';
import { SecretReveal } from '../components/secret';
import { ConfirmDialog, CopyButton, Dialog, ErrorBox, Field, LoadFailed, Live, PageTitle, StatusBadge } from '../components/ui';

const GRACE = [
  { value: '0', label: 'None: the old secret stops working now' },
  { value: '3600000', label: '1 hour' },
  { value: '86400000', label: '24 hours' },
  { value: '604800000', label: '7 days' },
];

function When({ iso, never = 'Never' }: { iso: string | null; never?: string }) {
  if (!iso) return <>{never}</>;
  return (
    <>
      {formatDate(iso)} <span className="muted">({relativeTime(iso)})</span>
    </>
  );
}

export function TokenDetailPage({ id }: { id: string }) {
  const api = useApi();
  const { result: token, error: loadError, setResult: setToken } = useGet<ServiceToken>(`/access/service_tokens/${id}`);
  const [message, setMessage] = useState<string>('');
  const [actionError, setActionError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [rotating, setRotating] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [secret, setSecret] = useState<ServiceTokenWithSecret | null>(null);
  const [usageVersion, setUsageVersion] = useState(0);

  async function act(label: string, fn: () => Promise<string>) {
    setBusy(label);
    setActionError(null);
    setMessage('');
    try {
      setMessage(await fn());
      setUsageVersion((v) => v + 1);
    } catch (e) {
      setActionError(errorText(e));
    } finally {
      setBusy(null);
    }
  }

  const refresh = () =>
    act('refresh', async () => {
      const { result } = await api.post<ServiceToken>(`/access/service_tokens/${id}/refresh`);
      setToken(result);
      return result.expires_at
        ? `Refreshed: now expires ${formatDate(result.expires_at)} (${relativeTime(result.expires_at)}).`
        : 'Refreshed: this token never expires.';
    });
  const toggle = () =>
    act('toggle', async () => {
      const { result } = await api.put<ServiceToken>(`/access/service_tokens/${id}`, { enabled: !token!.enabled });
      setToken(result);
      return result.enabled ? 'Enabled: the token is accepted again.' : 'Disabled: requests with this token are refused.';
    });

  if (loadError) return <LoadFailed title="Service token" error={loadError} back={{ to: '/tokens', label: 'Back to Service Tokens' }} />;
  if (!token) return <p role="status">Loading…</p>;

  if (secret) {
    return (
      <div className="page">
        <PageTitle parent={{ label: token.name, to: `/tokens/${token.id}` }}>Rotate secret</PageTitle>
        <SecretReveal
          title="The new Client Secret"
          clientId={secret.client_id}
          clientSecret={secret.client_secret}
          onClose={() => {
            setSecret(null);
            setMessage(
              secret.previous_client_secret_expires_at
                ? `Secret rotated. The previous secret works until ${formatDate(secret.previous_client_secret_expires_at)}.`
                : 'Secret rotated. The previous secret no longer works.',
            );
          }}
        />
      </div>
    );
  }

  return (
    <div className="page">
      <PageTitle>{token.name}</PageTitle>
      <Live className="notice-live">{message ? <p className="notice">{message}</p> : null}</Live>
      <ErrorBox error={actionError} />
      <div className="actions wrap">
        <button type="button" className="btn" onClick={refresh} disabled={!!busy}>
          Refresh
        </button>
        <button type="button" className="btn" onClick={() => setRotating(true)} disabled={!!busy}>
          Rotate secret
        </button>
        <button type="button" className="btn" onClick={toggle} disabled={!!busy}>
          {token.enabled ? 'Disable' : 'Enable'}
        </button>
        <button type="button" className="btn btn-danger" onClick={() => setDeleting(true)} disabled={!!busy}>
          Delete
        </button>
      </div>
      <div className="grid2">
        <section className="card" aria-labelledby="details-title">
          <h2 id="details-title">Details</h2>
          <dl className="details">
            <dt>Status</dt>
            <dd>
              <StatusBadge token={token} />
            </dd>
            <dt>Client ID</dt>
            <dd>
              <code className="break">{token.client_id}</code> <CopyButton text={token.client_id} label="Copy Client ID" />
            </dd>
            <dt>Duration</dt>
            <dd>{describeDuration(token.duration)}</dd>
            <dt>Expires</dt>
            <dd data-testid="expires">
              <When iso={token.expires_at} />
            </dd>
            <dt>Created</dt>
            <dd>
              <When iso={token.created_at} />
            </dd>
            <dt>Last seen</dt>
            <dd>
              <When iso={token.last_seen_at} />
            </dd>
            <dt>Secret version</dt>
            <dd>{token.client_secret_version}</dd>
            {token.previous_client_secret_expires_at ? (
              <>
                <dt>Previous secret valid until</dt>
                <dd>
                  <When iso={token.previous_client_secret_expires_at} />
                </dd>
              </>
            ) : null}
          </dl>
        </section>
        <EditToken
          token={token}
          onSaved={(t) => (
            setToken(t),
            setMessage(
              t.duration !== token.duration
                ? `Changes saved. ${t.expires_at ? `The token now expires ${formatDate(t.expires_at)} (${relativeTime(t.expires_at)}).` : 'The token now never expires.'}`
                : 'Changes saved.',
            ),
            setUsageVersion((v) => v + 1)
          )}
        />
      </div>
      <RecentUsage tokenId={id} version={usageVersion} />
      {rotating ? (
        <RotateDialog
          tokenId={id}
          onClose={() => setRotating(false)}
          onRotated={(t) => {
            setRotating(false);
            setToken(t);
            setSecret(t);
            setUsageVersion((v) => v + 1);
          }}
        />
      ) : null}
      {deleting ? <DeleteDialog token={token} onClose={() => setDeleting(false)} /> : null}
    </div>
  );
}

function EditToken({ token, onSaved }: { token: ServiceToken; onSaved(t: ServiceToken): void }) {
  const api = useApi();
  const [name, setName] = useState(token.name);
  const [duration, setDuration] = useState(token.duration);
  const [errors, setErrors] = useState<{ name?: string | null; duration?: string | null }>({});
  const { busy, error: apiError, run } = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const next = { name: nameError(name, 'a name'), duration: validateDuration(duration) };
    setErrors(next);
    if (next.name || next.duration) return;
    await run(async () => {
      const body: Record<string, string> = {};
      if (name.trim() !== token.name) body.name = name.trim();
      if (duration.trim() !== token.duration) body.duration = duration.trim();
      const { result } = await api.put<ServiceToken>(`/access/service_tokens/${token.id}`, body);
      onSaved(result);
    });
  };
  return (
    <form className="card form" onSubmit={submit} noValidate aria-labelledby="edit-title">
      <h2 id="edit-title">Rename or change duration</h2>
      <Field label="Name" value={name} onChange={setName} error={errors.name} required />
      <DurationPicker legend="Duration" value={duration} onChange={setDuration} error={errors.duration} />
      <p className="hint">
        Saving a new duration moves the expiry at once: the token then expires that long from now (as a Refresh would). Renaming alone keeps the current expiry.
      </p>
      <ErrorBox error={apiError} />
      <button className="btn" type="submit" disabled={busy || (name.trim() === token.name && duration.trim() === token.duration)}>
        Save changes
      </button>
    </form>
  );
}

function RotateDialog({ tokenId, onClose, onRotated }: { tokenId: string; onClose(): void; onRotated(t: ServiceTokenWithSecret): void }) {
  const api = useApi();
  const [grace, setGrace] = useState('0');
  const { busy, error, run } = useAction();
  const rotate = async (e: FormEvent) => {
    e.preventDefault();
    await run(async () => {
      const ms = Number(grace);
      const body = ms > 0 ? { previous_client_secret_expires_at: new Date(Date.now() + ms).toISOString() } : {};
      const { result } = await api.post<ServiceTokenWithSecret>(`/access/service_tokens/${tokenId}/rotate`, body);
      onRotated(result);
    });
  };
  return (
    <Dialog title="Rotate secret" onClose={onClose}>
      <form onSubmit={rotate}>
        <p>A new Client Secret is issued and shown once. The Client ID stays the same.</p>
        <div className="field">
          <label htmlFor="grace">Grace period for the old secret</label>
          <select id="grace" value={grace} onChange={(e) => setGrace(e.target.value)}>
            {GRACE.map((g) => (
              <option key={g.value} value={g.value}>
                {g.label}
              </option>
            ))}
          </select>
        </div>
        <ErrorBox error={error} />
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            Rotate now
          </button>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteDialog({ token, onClose }: { token: ServiceToken; onClose(): void }) {
  const api = useApi();
  const [policies, setPolicies] = useState<TokenPolicy[] | null>(null);
  const [policyError, setPolicyError] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  useEffect(() => {
    api
      .get<TokenPolicy[]>(`/access/service_tokens/${token.id}/policies`)
      .then(({ result }) => setPolicies(result))
      .catch((e) => setPolicyError(e instanceof ApiError && e.status === 404 ? 'Could not check which policies use this token.' : errorText(e)));
  }, [api, token.id]);
  const remove = () =>
    run(async () => {
      await api.del(`/access/service_tokens/${token.id}`);
      setFlash(`Deleted service token ${token.name}.`);
      navigate('/tokens', { replace: true });
    });
  return (
    <ConfirmDialog title={`Delete ${token.name}?`} action="Delete token" onConfirm={remove} onClose={onClose} busy={busy} error={error}>
      <p>Requests that present this token will be refused at once. This cannot be undone.</p>
      {policyError ? <p className="field-error">{policyError}</p> : null}
      {policies === null && !policyError ? <p role="status">Checking which policies use this token…</p> : null}
      {policies && policies.length === 0 ? <p data-testid="policy-usage">No policy names this token.</p> : null}
      {policies && policies.length > 0 ? (
        <div data-testid="policy-usage">
          <p>
            <strong>
              {policies.length} polic{policies.length === 1 ? 'y names' : 'ies name'} this token
            </strong>{' '}
            and will no longer admit it:
          </p>
          <ul>
            {policies.map((p) => (
              <li key={p.id}>
                {'reusable' in p
                  ? `Reusable policy ${p.name} (${p.apps.length ? `used by ${p.apps.map((a) => a.name).join(', ')}` : 'used by no application'})`
                  : `${p.app_name} › ${p.name}`}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </ConfirmDialog>
  );
}

function RecentUsage({ tokenId, version }: { tokenId: string; version: number }) {
  const api = useApi();
  const [events, setEvents] = useState<AuditEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    const since = new Date(Date.now() - 14 * 86_400_000).toISOString();
    // token_id matches the token's changes and every access decision it was presented in.
    api
      .get<AuditEntry[]>('/audit_logs', { token_id: tokenId, since, per_page: 1000 }, ctl.signal)
      .then((res) => setEvents(res.result))
      .catch((e) => !isAbort(e) && setError(errorText(e)));
    return () => ctl.abort();
  }, [api, tokenId, version]);
  return (
    <section className="card" aria-labelledby="usage-title">
      <h2 id="usage-title">Recent usage (14 days)</h2>
      <ErrorBox error={error} />
      {events ? (
        <>
          <UsageChart events={events.map((e) => ({ at: Date.parse(e.when), kind: auditKind(e) }))} />
          <p className="legend">
            <span className="key key-allow" /> allowed <span className="key key-deny" /> denied <span className="key key-change" /> changes
          </p>
          <ul className="events" aria-label="Latest events">
            {events.slice(0, 8).map((e) => (
              <li key={e.id}>
                <time dateTime={e.when} title={formatDate(e.when)}>
                  {relativeTime(e.when)}
                </time>{' '}
                {describeAction(e.action.type)}
                {e.resource.type === 'access_app' && e.resource.name ? <span> to {e.resource.name}</span> : null}
                {e.actor.ip ? <span className="muted"> from {e.actor.ip}</span> : null}
              </li>
            ))}
            {events.length === 0 ? <li className="muted">No activity in the last 14 days.</li> : null}
          </ul>
          <Link to={`/audit?token_id=${tokenId}`}>Audit log of this token</Link>
        </>
      ) : null}
    </section>
  );
}
