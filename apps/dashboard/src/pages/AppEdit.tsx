import { useEffect, useState, type FormEvent } from 'react';
import { errorText, isAbort } from '../lib/api';
import { domainError, durationError, formatDate, nameError, urlError } from '../lib/format';
import { setFlash, takeFlash } from '../lib/flash';
import { Link, navigate } from '../lib/router';
import { useApi } from '../lib/session';
import type { AccessApp, AccessPolicy, PolicyRule, ServiceToken } from '../lib/types';
import { TokenPicker } from '../components/token-picker';
import { CopyButton, Dialog, ErrorBox, Field, Live, PageTitle } from '../components/ui';

const HEADER = /^[A-Za-z0-9-]+$/;

export function AppEditPage({ id }: { id?: string }) {
  const api = useApi();
  const [app, setApp] = useState<AccessApp | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [message, setMessage] = useState(() => takeFlash() ?? '');
  const [confirm, setConfirm] = useState<'revoke' | 'delete' | null>(null);
  useEffect(() => {
    if (!id) return;
    const ctl = new AbortController();
    api
      .get<AccessApp>(`/access/apps/${id}`, undefined, ctl.signal)
      .then(({ result }) => setApp(result))
      .catch((e) => !isAbort(e) && setLoadError(errorText(e)));
    return () => ctl.abort();
  }, [api, id]);

  if (id && loadError) {
    return (
      <div className="page">
        <PageTitle>Application</PageTitle>
        <ErrorBox error={loadError} />
        <Link to="/apps">Back to Applications</Link>
      </div>
    );
  }
  if (id && !app) return <p role="status">Loading…</p>;

  return (
    <div className="page">
      <PageTitle crumbs={['Access', 'Applications']}>{app ? app.name : 'Add an application'}</PageTitle>
      <Live className="notice-live">{message ? <p className="notice">{message}</p> : null}</Live>
      {app ? (
        <div className="actions wrap">
          <button type="button" className="btn" onClick={() => setConfirm('revoke')}>
            Revoke existing sessions
          </button>
          <button type="button" className="btn btn-danger" onClick={() => setConfirm('delete')}>
            Delete application
          </button>
        </div>
      ) : null}
      <AppForm
        app={app}
        onSaved={(a) => {
          if (!app) {
            setFlash(`Created application ${a.name}. Add a Service Auth policy to let tokens in.`);
            navigate(`/apps/${a.id}`, { replace: true });
          } else {
            setApp(a);
            setMessage('Application saved.');
          }
        }}
      />
      {app ? <Policies app={app} /> : null}
      {confirm && app ? (
        <ConfirmAppAction
          app={app}
          kind={confirm}
          onClose={() => setConfirm(null)}
          onDone={(m) => {
            setConfirm(null);
            setMessage(m);
          }}
        />
      ) : null}
    </div>
  );
}

function ConfirmAppAction({ app, kind, onClose, onDone }: { app: AccessApp; kind: 'revoke' | 'delete'; onClose(): void; onDone(m: string): void }) {
  const api = useApi();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      if (kind === 'revoke') {
        await api.post(`/access/apps/${app.id}/revoke_tokens`);
        onDone('Existing sessions revoked: every access JWT issued for this application before now is refused.');
      } else {
        await api.del(`/access/apps/${app.id}`);
        setFlash(`Deleted application ${app.name}.`);
        navigate('/apps', { replace: true });
      }
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };
  return (
    <Dialog title={kind === 'revoke' ? 'Revoke existing sessions?' : `Delete ${app.name}?`} onClose={onClose}>
      <p>
        {kind === 'revoke'
          ? 'Every session (access JWT) already issued for this application stops working. Service tokens can still sign in again.'
          : 'The application and its policies are removed; the gateway stops serving its domain.'}
      </p>
      <ErrorBox error={error} />
      <div className="actions">
        <button type="button" className="btn btn-danger" onClick={run} disabled={busy}>
          {kind === 'revoke' ? 'Revoke sessions' : 'Delete application'}
        </button>
        <button type="button" className="btn" onClick={onClose} autoFocus>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

function AppForm({ app, onSaved }: { app: AccessApp | null; onSaved(a: AccessApp): void }) {
  const api = useApi();
  const [name, setName] = useState(app?.name ?? '');
  const [domain, setDomain] = useState(app?.domain ?? '');
  const [upstream, setUpstream] = useState(app?.upstream ?? '');
  const [session, setSession] = useState(app?.session_duration ?? '24h');
  const [header, setHeader] = useState(app?.read_service_tokens_from_header ?? '');
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const [apiError, setApiError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const next = {
      name: nameError(name, 'a name'),
      domain: domainError(domain),
      upstream: urlError(upstream, { required: false }),
      session: session.trim() === 'forever' ? 'A session needs a finite duration, such as 24h.' : durationError(session),
      header: header.trim() && !HEADER.test(header.trim()) ? 'Use letters, digits and dashes, such as X-Service-Token.' : null,
    };
    setErrors(next);
    if (Object.values(next).some(Boolean)) return;
    setBusy(true);
    setApiError(null);
    const body = {
      name: name.trim(),
      domain: domain.trim(),
      type: 'self_hosted',
      session_duration: session.trim(),
      upstream: upstream.trim() || null,
      read_service_tokens_from_header: header.trim() || null,
    };
    try {
      const { result } = app ? await api.put<AccessApp>(`/access/apps/${app.id}`, body) : await api.post<AccessApp>('/access/apps', body);
      onSaved(result);
    } catch (err) {
      setApiError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card form" onSubmit={submit} noValidate aria-labelledby="app-form-title">
      <h2 id="app-form-title">{app ? 'Settings' : 'Application'}</h2>
      <Field label="Application name" value={name} onChange={setName} error={errors.name} required />
      <Field label="Domain" value={domain} onChange={setDomain} error={errors.domain} required hint='Host and optional path, e.g. "api.example.com" or "example.com/api".' />
      <Field label="Upstream URL" value={upstream} onChange={setUpstream} error={errors.upstream} inputMode="url" hint="Where the gateway forwards admitted requests, e.g. http://10.0.0.5:8080. Leave empty for forward-auth only." />
      <Field label="Session duration" value={session} onChange={setSession} error={errors.session} hint="How long an access JWT issued to a token stays valid, e.g. 24h or 30m." />
      <Field label="Read service tokens from header" value={header} onChange={setHeader} error={errors.header} hint="Optional: one header carrying both client id and secret as JSON." />
      {app ? (
        <p className="hint">
          Application audience (AUD) tag: <code className="break">{app.aud}</code> <CopyButton text={app.aud} label="Copy AUD" />
        </p>
      ) : null}
      <ErrorBox error={apiError} title="Not saved." />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {app ? 'Save application' : 'Create application'}
        </button>
        <Link to="/apps" className="btn">
          {app ? 'Back' : 'Cancel'}
        </Link>
      </div>
    </form>
  );
}

function ruleText(r: PolicyRule, names: Map<string, string>): string {
  if ('any_valid_service_token' in r) return 'Any valid service token';
  return `Service token ${names.get(r.service_token.token_id) ?? r.service_token.token_id}`;
}

function Policies({ app }: { app: AccessApp }) {
  const api = useApi();
  const [policies, setPolicies] = useState<AccessPolicy[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<AccessPolicy | 'new' | null>(null);
  const [names, setNames] = useState(new Map<string, string>());
  const [message, setMessage] = useState('');
  const [version, setVersion] = useState(0);
  useEffect(() => {
    api
      .get<AccessPolicy[]>(`/access/apps/${app.id}/policies`)
      .then(async ({ result }) => {
        setPolicies(result);
        // Names of the tokens the policies mention (one GET each; policies name few tokens).
        const ids = [...new Set(result.flatMap((p) => p.include.flatMap((r) => ('service_token' in r ? [r.service_token.token_id] : []))))];
        const found = await Promise.all(ids.map((i) => api.get<ServiceToken>(`/access/service_tokens/${i}`).then((r) => [i, r.result.name] as const, () => [i, 'deleted token'] as const)));
        setNames(new Map(found));
      })
      .catch((e) => setError(errorText(e)));
  }, [api, app.id, version]);
  const remove = async (p: AccessPolicy) => {
    if (!window.confirm(`Delete the policy ${p.name}?`)) return;
    try {
      await api.del(`/access/apps/${app.id}/policies/${p.id}`);
      setMessage(`Deleted policy ${p.name}.`);
      setVersion((v) => v + 1);
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <section className="card" aria-labelledby="policies-title">
      <h2 id="policies-title">Service Auth policies</h2>
      <Live>{message}</Live>
      <ErrorBox error={error} />
      {policies ? (
        <ul className="policy-list">
          {policies.map((p) => (
            <li key={p.id}>
              <div>
                <strong>{p.name}</strong> <span className="badge">Service Auth</span> <span className="muted">precedence {p.precedence}</span>
                <div className="muted">Include: {p.include.map((r) => ruleText(r, names)).join(' or ')}</div>
                {p.created_at ? <div className="muted">Created {formatDate(p.created_at)}</div> : null}
              </div>
              <span className="actions">
                <button type="button" className="btn btn-small" onClick={() => setEditing(p)}>
                  Edit <span className="sr-only">{p.name}</span>
                </button>
                <button type="button" className="btn btn-small btn-danger" onClick={() => remove(p)}>
                  Delete <span className="sr-only">{p.name}</span>
                </button>
              </span>
            </li>
          ))}
          {policies.length === 0 ? <li className="muted">No policy yet: no service token can reach this application.</li> : null}
        </ul>
      ) : null}
      {editing ? (
        <PolicyForm
          key={editing === 'new' ? 'new' : editing.id}
          appId={app.id}
          policy={editing === 'new' ? null : editing}
          names={names}
          onCancel={() => setEditing(null)}
          onSaved={(p) => {
            setEditing(null);
            setMessage(`Saved policy ${p.name}.`);
            setVersion((v) => v + 1);
          }}
        />
      ) : (
        <button type="button" className="btn" onClick={() => setEditing('new')}>
          Add a policy
        </button>
      )}
    </section>
  );
}

function PolicyForm({ appId, policy, names, onSaved, onCancel }: { appId: string; policy: AccessPolicy | null; names: Map<string, string>; onSaved(p: AccessPolicy): void; onCancel(): void }) {
  const api = useApi();
  const [name, setName] = useState(policy?.name ?? '');
  const [any, setAny] = useState(policy?.include.some((r) => 'any_valid_service_token' in r) ?? false);
  const [tokens, setTokens] = useState<Array<{ id: string; name: string }>>(
    policy?.include.flatMap((r) => ('service_token' in r ? [{ id: r.service_token.token_id, name: names.get(r.service_token.token_id) ?? r.service_token.token_id }] : [])) ?? [],
  );
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const [apiError, setApiError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const next = { name: nameError(name, 'a policy name'), rules: !any && tokens.length === 0 ? 'Pick at least one service token, or allow any valid service token.' : null };
    setErrors(next);
    if (next.name || next.rules) return;
    const include: PolicyRule[] = any ? [{ any_valid_service_token: {} }] : tokens.map((t) => ({ service_token: { token_id: t.id } }));
    const body = { name: name.trim(), decision: 'non_identity', include, ...(policy ? { precedence: policy.precedence } : {}) };
    setBusy(true);
    setApiError(null);
    try {
      const { result } = policy ? await api.put<AccessPolicy>(`/access/apps/${appId}/policies/${policy.id}`, body) : await api.post<AccessPolicy>(`/access/apps/${appId}/policies`, body);
      onSaved(result);
    } catch (err) {
      setApiError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="subform" onSubmit={submit} noValidate aria-labelledby="policy-form-title">
      <h3 id="policy-form-title">{policy ? `Edit ${policy.name}` : 'Add a Service Auth policy'}</h3>
      <Field label="Policy name" value={name} onChange={setName} error={errors.name} required />
      <fieldset className="field">
        <legend>Include</legend>
        <label className="check">
          <input type="checkbox" checked={any} onChange={(e) => setAny(e.target.checked)} />
          Any valid service token
        </label>
        {!any ? <TokenPicker selected={tokens} onChange={setTokens} label="Service tokens" /> : null}
        {errors.rules ? <p className="field-error">{errors.rules}</p> : null}
      </fieldset>
      <ErrorBox error={apiError} title="Not saved." />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Save policy
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
