import { useEffect, useState, type FormEvent } from 'react';
import { errorText } from '../lib/api';
import { domainError, durationError, formatDate, nameError, urlError } from '../lib/format';
import { setFlash, takeFlash } from '../lib/flash';
import { Link, navigate } from '../lib/router';
import { useApi, useGet } from '../lib/session';
import { useAction } from '../lib/use-action';
import type { AccessApp, AccessPolicy, ReusablePolicy } from '../lib/types';
import { PolicyForm, ruleText, useTokenNames } from '../components/policy-form';
import { ConfirmDialog, CopyButton, ErrorBox, Field, LoadFailed, Live, PageTitle } from '../components/ui';

const HEADER = /^[A-Za-z0-9-]+$/;

export function AppEditPage({ id }: { id?: string }) {
  const { result: app, error: loadError, setResult: setApp } = useGet<AccessApp>(id ? `/access/apps/${id}` : null);
  const [message, setMessage] = useState(() => takeFlash() ?? '');
  const [confirm, setConfirm] = useState<'revoke' | 'delete' | null>(null);

  if (id && loadError) return <LoadFailed title="Application" error={loadError} back={{ to: '/apps', label: 'Back to Applications' }} />;
  if (id && !app) return <p role="status">Loading…</p>;

  return (
    <div className="page">
      <PageTitle>{app ? app.name : 'Add an application'}</PageTitle>
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
      {app ? <LinkedPolicies app={app} onSaved={setApp} /> : null}
      {app && !app.policies?.length ? <Policies app={app} /> : null}
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
  const { busy, error, run } = useAction();
  const confirmed = () =>
    run(async () => {
      if (kind === 'revoke') {
        await api.post(`/access/apps/${app.id}/revoke_tokens`);
        onDone('Existing sessions revoked: every access JWT issued for this application before now is refused.');
      } else {
        await api.del(`/access/apps/${app.id}`);
        setFlash(`Deleted application ${app.name}.`);
        navigate('/apps', { replace: true });
      }
    });
  return (
    <ConfirmDialog
      title={kind === 'revoke' ? 'Revoke existing sessions?' : `Delete ${app.name}?`}
      action={kind === 'revoke' ? 'Revoke sessions' : 'Delete application'}
      onConfirm={confirmed}
      onClose={onClose}
      busy={busy}
      error={error}
    >
      <p>
        {kind === 'revoke'
          ? 'Every session (access JWT) already issued for this application stops working. Service tokens can still sign in again.'
          : 'The application and its policies are removed; the gateway stops serving its domain.'}
      </p>
    </ConfirmDialog>
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
  const { busy, error: apiError, run } = useAction();
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
    const body = {
      name: name.trim(),
      domain: domain.trim(),
      type: 'self_hosted',
      session_duration: session.trim(),
      upstream: upstream.trim() || null,
      read_service_tokens_from_header: header.trim() || null,
    };
    await run(async () => {
      const { result } = app ? await api.put<AccessApp>(`/access/apps/${app.id}`, body) : await api.post<AccessApp>('/access/apps', body);
      onSaved(result);
    });
  };
  return (
    <form className="card form" onSubmit={submit} noValidate aria-labelledby="app-form-title">
      <h2 id="app-form-title">{app ? 'Settings' : 'Application'}</h2>
      <Field label="Application name" value={name} onChange={setName} error={errors.name} required />
      <Field
        label="Domain"
        value={domain}
        onChange={setDomain}
        error={errors.domain}
        required
        hint='Host and optional path, e.g. "api.example.com" or "example.com/api".'
      />
      <Field
        label="Upstream URL"
        value={upstream}
        onChange={setUpstream}
        error={errors.upstream}
        inputMode="url"
        hint="Where the gateway forwards admitted requests, e.g. http://10.0.0.5:8080. Leave empty for forward-auth only."
      />
      <Field
        label="Session duration"
        value={session}
        onChange={setSession}
        error={errors.session}
        hint="How long an access JWT issued to a token stays valid, e.g. 24h or 30m."
      />
      <Field
        label="Read service tokens from header"
        value={header}
        onChange={setHeader}
        error={errors.header}
        hint="Optional: one header carrying both client id and secret as JSON."
      />
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

function Policies({ app }: { app: AccessApp }) {
  const api = useApi();
  const [policies, setPolicies] = useState<AccessPolicy[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<AccessPolicy | 'new' | null>(null);
  const [message, setMessage] = useState('');
  const [version, setVersion] = useState(0);
  useEffect(() => {
    api
      .get<AccessPolicy[]>(`/access/apps/${app.id}/policies`)
      .then(({ result }) => setPolicies(result))
      .catch((e) => setError(errorText(e)));
  }, [api, app.id, version]);
  const names = useTokenNames(api, policies);
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
          title={editing === 'new' ? 'Add a Service Auth policy' : `Edit ${editing.name}`}
          policy={editing === 'new' ? null : editing}
          names={names}
          save={async (body) =>
            (editing === 'new'
              ? await api.post<AccessPolicy>(`/access/apps/${app.id}/policies`, body)
              : await api.put<AccessPolicy>(`/access/apps/${app.id}/policies/${editing.id}`, body)
            ).result
          }
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

/**
 * Reusable policies the application links (its precedence follows the order picked). An app links
 * reusable policies or has its own policies, never both: the API refuses a mix.
 */
function LinkedPolicies({ app, onSaved }: { app: AccessApp; onSaved(a: AccessApp): void }) {
  const api = useApi();
  const [picked, setPicked] = useState<string[]>(() => (app.policies ?? []).map((p) => p.id));
  const { result: all, error: loadError } = useGet<ReusablePolicy[]>('/access/policies', { per_page: 200 });
  const { busy, error: saveError, run } = useAction();
  const [message, setMessage] = useState('');
  const error = saveError ?? loadError;
  const toggle = (id: string) => setPicked((now) => (now.includes(id) ? now.filter((x) => x !== id) : [...now, id]));
  const save = () =>
    run(async () => {
      const { result } = await api.put<AccessApp>(`/access/apps/${app.id}`, {
        name: app.name,
        domain: app.domain,
        policies: picked.map((id, i) => ({ id, precedence: i + 1 })),
      });
      onSaved(result);
      setMessage(picked.length ? `Linked ${picked.length} reusable ${picked.length === 1 ? 'policy' : 'policies'}.` : 'No reusable policy linked.');
    });
  const linked = app.policies ?? [];
  return (
    <section className="card" aria-labelledby="linked-title">
      <h2 id="linked-title">Reusable policies</h2>
      <Live>{message}</Live>
      <p className="muted">
        Link policies kept on the <Link to="/policies">Policies</Link> page; they apply in the order picked. An application uses either reusable policies or its
        own policies below, not both.
      </p>
      {linked.length ? (
        <ol className="policy-list" aria-label="Linked policies">
          {linked.map((p) => (
            <li key={p.id}>
              <span>
                <Link to={`/policies/${p.id}`}>{p.name}</Link> <span className="muted">precedence {p.precedence}</span>
              </span>
            </li>
          ))}
        </ol>
      ) : null}
      <ErrorBox error={error} title="Not saved." />
      {all ? (
        all.length ? (
          <fieldset className="field">
            <legend>Linked reusable policies</legend>
            {all.map((p) => (
              <label className="check" key={p.id}>
                <input type="checkbox" checked={picked.includes(p.id)} onChange={() => toggle(p.id)} />
                {p.name}
                {picked.includes(p.id) ? <span className="muted"> (#{picked.indexOf(p.id) + 1})</span> : null}
              </label>
            ))}
            <div className="actions">
              <button type="button" className="btn" onClick={save} disabled={busy}>
                Save linked policies
              </button>
            </div>
          </fieldset>
        ) : (
          <p className="muted">No reusable policy yet.</p>
        )
      ) : null}
    </section>
  );
}
