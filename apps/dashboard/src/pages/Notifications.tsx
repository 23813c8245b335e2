import { useEffect, useState, type FormEvent } from 'react';
import { errorText, isAbort, type ResultInfo } from '../lib/api';
import { formatDate, nameError, relativeTime, urlError } from '../lib/format';
import { takeFlash } from '../lib/flash';
import { Link } from '../lib/router';
import { useApi } from '../lib/session';
import type { AlertPolicy, WebhookDestination } from '../lib/types';
import { ErrorBox, Field, Live, PageTitle, Pager } from '../components/ui';

export const ALERT_TYPE = 'expiring_service_token_alert';

export function NotificationsPage() {
  const api = useApi();
  const [policies, setPolicies] = useState<AlertPolicy[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [flash] = useState(takeFlash);
  const [hooksVersion, setHooksVersion] = useState(0);
  const [hooks, setHooks] = useState<WebhookDestination[]>([]);
  useEffect(() => {
    const ctl = new AbortController();
    api
      .get<AlertPolicy[]>('/alerting/v3/policies', undefined, ctl.signal)
      .then(({ result }) => setPolicies(result))
      .catch((e) => !isAbort(e) && setError(errorText(e)));
    return () => ctl.abort();
  }, [api]);
  useEffect(() => {
    api
      .get<WebhookDestination[]>('/alerting/v3/destinations/webhooks')
      .then(({ result }) => setHooks(result))
      .catch(() => undefined);
  }, [api, hooksVersion]);
  const hookName = (id: string) => hooks.find((h) => h.id === id)?.name ?? 'webhook';
  return (
    <div className="page">
      <PageTitle>Notifications</PageTitle>
      {flash ? <Live className="notice">{flash}</Live> : null}
      <p className="lede">Alerts tell people (by email) and systems (by webhook) about service tokens that expire within a week.</p>
      <div className="toolbar">
        <Link to="/notifications/new" className="btn btn-primary">
          Create alert
        </Link>
      </div>
      <ErrorBox error={error} title="Could not load alerts." />
      {policies ? (
        <>
          <table className="table responsive">
            <caption className="sr-only">Alerts</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Enabled</th>
                <th scope="col">Email recipients</th>
                <th scope="col">Webhooks</th>
              </tr>
            </thead>
            <tbody>
              {policies.map((p) => (
                <tr key={p.id}>
                  <td data-label="Name">
                    <Link to={`/notifications/${p.id}`}>{p.name}</Link>
                  </td>
                  <td data-label="Type">Expiring Access Service Token</td>
                  <td data-label="Enabled">{p.enabled ? 'Yes' : 'No'}</td>
                  <td data-label="Email recipients">{(p.mechanisms.email ?? []).map((m) => m.id).join(', ') || '—'}</td>
                  <td data-label="Webhooks">{(p.mechanisms.webhooks ?? []).map((m) => hookName(m.id)).join(', ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {policies.length === 0 ? <p className="empty">No alerts yet.</p> : null}
        </>
      ) : null}
      <Webhooks hooks={hooks} onChanged={() => setHooksVersion((v) => v + 1)} />
      <History />
    </div>
  );
}

function Webhooks({ hooks, onChanged }: { hooks: WebhookDestination[]; onChanged(): void }) {
  const api = useApi();
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState('');
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const [apiError, setApiError] = useState<string | null>(null);
  const [message, setMessage] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const next = {
      name: nameError(name, 'a name'),
      url: urlError(url),
      secret: secret && secret.length < 16 ? 'The signing secret must be at least 16 characters (or leave it empty).' : null,
    };
    setErrors(next);
    if (Object.values(next).some(Boolean)) return;
    setApiError(null);
    try {
      await api.post('/alerting/v3/destinations/webhooks', { name: name.trim(), url: url.trim(), ...(secret ? { secret } : {}) });
      setMessage(`Added webhook ${name.trim()}.`);
      setName('');
      setUrl('');
      setSecret('');
      onChanged();
    } catch (err) {
      setApiError(errorText(err));
    }
  };
  const remove = async (h: WebhookDestination) => {
    if (!window.confirm(`Delete the webhook ${h.name}? Alerts that use it stop calling it.`)) return;
    try {
      await api.del(`/alerting/v3/destinations/webhooks/${h.id}`);
      setMessage(`Deleted webhook ${h.name}.`);
      onChanged();
    } catch (err) {
      setApiError(errorText(err));
    }
  };
  return (
    <section className="card" aria-labelledby="hooks-title">
      <h2 id="hooks-title">Webhook destinations</h2>
      <Live>{message}</Live>
      <ul className="policy-list">
        {hooks.map((h) => (
          <li key={h.id}>
            <div>
              <strong>{h.name}</strong> <code className="clip">{h.url}</code>
            </div>
            <button type="button" className="btn btn-small btn-danger" onClick={() => remove(h)}>
              Delete <span className="sr-only">{h.name}</span>
            </button>
          </li>
        ))}
        {hooks.length === 0 ? <li className="muted">No webhook destinations.</li> : null}
      </ul>
      <form className="subform" onSubmit={submit} noValidate aria-label="Add a webhook destination">
        <h3>Add a webhook destination</h3>
        <div className="grid3">
          <Field label="Webhook name" value={name} onChange={setName} error={errors.name} required />
          <Field
            label="Webhook URL"
            value={url}
            onChange={setUrl}
            error={errors.url}
            required
            inputMode="url"
            placeholder="https://hooks.example.com/gatehouse"
          />
          <Field
            label="Signing secret (optional)"
            type="password"
            value={secret}
            onChange={setSecret}
            error={errors.secret}
            hint="At least 16 characters; bodies are signed with HMAC-SHA256."
          />
        </div>
        <ErrorBox error={apiError} />
        <button type="submit" className="btn">
          Add webhook
        </button>
      </form>
    </section>
  );
}

type HistoryRow = Record<string, unknown> & { id: string };
// eslint-disable-next-line @typescript-eslint/no-base-to-string -- history rows hold the API's scalar delivery fields, never objects
const str = (v: unknown) => (typeof v === 'string' ? v : v == null ? '' : String(v));

function History() {
  const api = useApi();
  const [page, setPage] = useState(1);
  const [rows, setRows] = useState<HistoryRow[] | null>(null);
  const [info, setInfo] = useState<ResultInfo>();
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    api
      .get<HistoryRow[]>('/alerting/v3/history', { page, per_page: 20 }, ctl.signal)
      .then(({ result, info }) => {
        setRows(result);
        setInfo(info);
      })
      .catch((e) => !isAbort(e) && setError(errorText(e)));
    return () => ctl.abort();
  }, [api, page]);
  return (
    <section className="card" aria-labelledby="history-title">
      <h2 id="history-title">Alert history</h2>
      <ErrorBox error={error} />
      {rows ? (
        <>
          <table className="table responsive">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Alert</th>
                <th scope="col">Sent to</th>
                <th scope="col">Token</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const when = str(r.sent ?? r.created ?? r.due_at);
                const token = r.token as { name?: string } | undefined;
                return (
                  <tr key={r.id}>
                    <td data-label="When">
                      {when ? (
                        <time dateTime={when} title={formatDate(when)}>
                          {relativeTime(when)}
                        </time>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td data-label="Alert">{str(r.name ?? r.policy_name)}</td>
                    <td data-label="Sent to">
                      {str(r.mechanism_type)} {str(r.mechanism ?? r.target)}
                    </td>
                    <td data-label="Token">{str(token?.name ?? r.token_name ?? r.alert_body)}</td>
                    <td data-label="Status">
                      {str(r.status) || (r.sent ? 'sent' : '')}
                      {r.last_error ? <span className="muted"> ({str(r.last_error)})</span> : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {rows.length === 0 ? <p className="empty">No alert has been sent yet.</p> : null}
          <Pager info={info} noun="deliveries" onPage={setPage} />
        </>
      ) : null}
    </section>
  );
}
