import { useEffect, useId, useState, type FormEvent } from 'react';
import { errorText, isAbort } from '../lib/api';
import { formatDate } from '../lib/format';
import { useApi } from '../lib/session';
import type { AccessOrganization, SigningKeys } from '../lib/settings';
import { Dialog, ErrorBox, Live, PageTitle } from '../components/ui';

/** Account-wide Access settings: strict service-token mode, inactivity cleanup, signing keys. */
export function SettingsPage() {
  const api = useApi();
  const [org, setOrg] = useState<AccessOrganization | null>(null);
  const [keys, setKeys] = useState<SigningKeys | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [keysError, setKeysError] = useState<string | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    api
      .get<AccessOrganization>('/access/organizations', undefined, ctl.signal)
      .then(({ result }) => setOrg(result))
      .catch((e) => !isAbort(e) && setError(errorText(e)));
    api
      .get<SigningKeys>('/access/keys', undefined, ctl.signal)
      .then(({ result }) => setKeys(result))
      .catch((e) => !isAbort(e) && setKeysError(errorText(e)));
    return () => ctl.abort();
  }, [api]);
  return (
    <div className="page">
      <PageTitle crumbs={['Access', 'Settings']}>Settings</PageTitle>
      <p className="lede">Settings of this account&apos;s Access organization, and the keys the gateway signs access JWTs with.</p>
      <ErrorBox error={error} title="Could not load the organization." />
      {org ? (
        <>
          <StrictMode org={org} onSaved={setOrg} />
          <InactivityCleanup org={org} onSaved={setOrg} />
        </>
      ) : !error ? (
        <p role="status">Loading…</p>
      ) : null}
      <ErrorBox error={keysError} title="Could not load the signing keys." />
      {keys ? <SigningKeysCard keys={keys} onChanged={setKeys} /> : null}
    </div>
  );
}

function StrictMode({ org, onSaved }: { org: AccessOrganization; onSaved(o: AccessOrganization): void }) {
  const api = useApi();
  const [strict, setStrict] = useState(org.strict_service_token_auth);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState('');
  const headingId = useId();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setMessage('');
    try {
      const { result } = await api.put<AccessOrganization>('/access/organizations', { strict_service_token_auth: strict });
      onSaved(result);
      setMessage(result.strict_service_token_auth ? 'Strict mode is on. The gateway applies it within a second.' : 'Strict mode is off.');
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Strict service-token mode</h2>
      <form className="form" onSubmit={submit} noValidate>
        <label className="check">
          <input type="checkbox" checked={strict} onChange={(e) => setStrict(e.target.checked)} /> Strict service-token authentication
        </label>
        <ul className="hint">
          <li>Successful requests get no <code>CF_Authorization</code> cookie: clients send their service token (or a JWT) every time.</li>
          <li>A request carrying service-token headers together with a JWT, or any <code>CF-Access-Client-*</code> header twice, is refused (401).</li>
          <li>401 when the credential cannot authenticate, 403 when it is valid but no policy admits it. Only Service Auth policies apply.</li>
        </ul>
        <ErrorBox error={error} />
        <Live className="notice-live">{message ? <p className="notice">{message}</p> : null}</Live>
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={busy || strict === org.strict_service_token_auth}>
            Save strict mode
          </button>
        </div>
      </form>
    </section>
  );
}

function InactivityCleanup({ org, onSaved }: { org: AccessOrganization; onSaved(o: AccessOrganization): void }) {
  const api = useApi();
  const current = org.service_token_inactivity;
  const [enabled, setEnabled] = useState(current.enabled);
  const [days, setDays] = useState(String(current.inactivity_threshold_days));
  const [action, setAction] = useState<'disable' | 'delete'>(current.action);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [daysError, setDaysError] = useState<string | null>(null);
  const [message, setMessage] = useState('');
  const headingId = useId();
  const daysId = useId();
  const actionId = useId();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const n = Number(days);
    const bad = !/^\d+$/.test(days.trim()) || n < 30 || n > 365 ? 'Enter a whole number of days from 30 to 365.' : null;
    setDaysError(bad);
    if (bad) return document.getElementById(daysId)?.focus();
    setBusy(true);
    setError(null);
    setMessage('');
    try {
      const { result } = await api.put<AccessOrganization>('/access/organizations', {
        service_token_inactivity: { enabled, inactivity_threshold_days: n, action },
      });
      onSaved(result);
      const s = result.service_token_inactivity;
      setMessage(s.enabled ? `Inactivity cleanup is on: tokens unused for ${s.inactivity_threshold_days} days are ${s.action === 'delete' ? 'deleted' : 'disabled'}.` : 'Inactivity cleanup is off.');
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Inactivity cleanup</h2>
      <form className="form" onSubmit={submit} noValidate>
        <label className="check">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Clean up inactive service tokens
        </label>
        <div className="field">
          <label htmlFor={daysId}>Unused for (days)</label>
          <input
            id={daysId}
            type="number"
            inputMode="numeric"
            min={30}
            max={365}
            value={days}
            aria-invalid={daysError ? true : undefined}
            aria-describedby={`${daysId}-hint${daysError ? ` ${daysId}-err` : ''}`}
            onChange={(e) => setDays(e.target.value)}
          />
          <p className="hint" id={`${daysId}-hint`}>
            30 to 365. A token is unused when neither its last use nor (if never used) its creation is more recent. Tokens a policy names directly are never
            cleaned up.
          </p>
          {daysError ? (
            <p className="field-error" id={`${daysId}-err`}>
              {daysError}
            </p>
          ) : null}
        </div>
        <div className="field">
          <label htmlFor={actionId}>Action on inactive tokens</label>
          <select id={actionId} value={action} onChange={(e) => setAction(e.target.value as 'disable' | 'delete')}>
            <option value="disable">Disable the token</option>
            <option value="delete">Delete the token</option>
          </select>
        </div>
        <ErrorBox error={error} />
        <Live className="notice-live">{message ? <p className="notice">{message}</p> : null}</Live>
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            Save inactivity cleanup
          </button>
        </div>
      </form>
    </section>
  );
}

function SigningKeysCard({ keys, onChanged }: { keys: SigningKeys; onChanged(k: SigningKeys): void }) {
  const api = useApi();
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState('');
  const [interval, setIntervalDays] = useState(String(keys.key_rotation_interval_days));
  const [intervalError, setIntervalError] = useState<string | null>(null);
  const headingId = useId();
  const intervalId = useId();
  const rotate = async () => {
    setBusy(true);
    setError(null);
    setMessage('');
    try {
      const { result } = await api.post<SigningKeys>('/access/keys/rotate');
      onChanged(result);
      const fresh = result.keys[0];
      setMessage(fresh ? `New key ${fresh.kid.slice(0, 8)}… published. It signs new JWTs from ${formatDate(fresh.activates_at)}, once every gateway has it; the old key stays published.` : 'Rotated.');
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
      setConfirm(false);
    }
  };
  const saveInterval = async (e: FormEvent) => {
    e.preventDefault();
    const n = Number(interval);
    const bad = !/^\d+$/.test(interval.trim()) || n < 21 || n > 365 ? 'Enter a whole number of days from 21 to 365.' : null;
    setIntervalError(bad);
    if (bad) return document.getElementById(intervalId)?.focus();
    setBusy(true);
    setError(null);
    setMessage('');
    try {
      const { result } = await api.put<SigningKeys>('/access/keys', { key_rotation_interval_days: n });
      onChanged(result);
      setMessage(`Keys now rotate every ${result.key_rotation_interval_days} days.`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Signing keys</h2>
      <p className="hint">The gateway signs every access JWT with these keys (shared by all accounts of this Gatehouse). Applications verify them at /cdn-cgi/access/certs.</p>
      <dl className="details">
        <dt>Rotation interval</dt>
        <dd>{keys.key_rotation_interval_days} days</dd>
        <dt>Last rotation</dt>
        <dd>{formatDate(keys.last_key_rotation_at)}</dd>
        <dt>Next rotation</dt>
        <dd>
          in {keys.days_until_next_rotation} {keys.days_until_next_rotation === 1 ? 'day' : 'days'} ({formatDate(keys.next_key_rotation_at)})
        </dd>
      </dl>
      <table className="table responsive">
        <caption className="sr-only">Published signing keys</caption>
        <thead>
          <tr>
            <th scope="col">Key ID</th>
            <th scope="col">State</th>
            <th scope="col">Signs from</th>
          </tr>
        </thead>
        <tbody>
          {keys.keys.map((k) => (
            <tr key={k.kid}>
              <td data-label="Key ID">
                <code>{k.kid}</code>
              </td>
              <td data-label="State">{k.state === 'active' ? 'Signing' : k.state === 'pending' ? 'Published, not signing yet' : 'Previous (still accepted)'}</td>
              <td data-label="Signs from">{formatDate(k.activates_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorBox error={error} />
      <Live className="notice-live">{message ? <p className="notice">{message}</p> : null}</Live>
      <div className="actions wrap">
        <button type="button" className="btn" onClick={() => setConfirm(true)} disabled={busy}>
          Rotate now
        </button>
      </div>
      <form className="form" onSubmit={saveInterval} noValidate>
        <div className="field">
          <label htmlFor={intervalId}>Rotate every (days)</label>
          <input
            id={intervalId}
            type="number"
            inputMode="numeric"
            min={21}
            max={365}
            value={interval}
            aria-invalid={intervalError ? true : undefined}
            aria-describedby={intervalError ? `${intervalId}-err` : undefined}
            onChange={(e) => setIntervalDays(e.target.value)}
          />
          {intervalError ? (
            <p className="field-error" id={`${intervalId}-err`}>
              {intervalError}
            </p>
          ) : null}
        </div>
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            Save rotation interval
          </button>
        </div>
      </form>
      {confirm ? (
        <Dialog title="Rotate the signing key now?" onClose={() => setConfirm(false)}>
          <p>
            A new key is published at once and signs new JWTs after {keys.activation_delay_seconds} seconds, once every gateway has it. JWTs already issued stay valid:
            the current key stays published until the next rotation.
          </p>
          <div className="actions">
            <button type="button" className="btn btn-primary" onClick={rotate} disabled={busy}>
              Rotate the key
            </button>
            <button type="button" className="btn" onClick={() => setConfirm(false)} autoFocus>
              Cancel
            </button>
          </div>
        </Dialog>
      ) : null}
    </section>
  );
}
