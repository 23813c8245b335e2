import { useEffect, useId, useState, type FormEvent } from 'react';
import { errorText, isAbort } from '../lib/api';
import { formatDate } from '../lib/format';
import { useApi } from '../lib/session';
import { useAction } from '../lib/use-action';
import type { AccessOrganization, SigningKeys } from '../lib/types';
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
      <PageTitle>Settings</PageTitle>
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
  const { busy, run, feedback } = useSaver();
  const headingId = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const { result } = await api.put<AccessOrganization>('/access/organizations', { strict_service_token_auth: strict });
      onSaved(result);
      return result.strict_service_token_auth ? 'Strict mode is on. The gateway applies it within a second.' : 'Strict mode is off.';
    });
  };
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Strict service-token mode</h2>
      <form className="form" onSubmit={submit} noValidate>
        <label className="check">
          <input type="checkbox" checked={strict} onChange={(e) => setStrict(e.target.checked)} /> Strict service-token authentication
        </label>
        <ul className="hint">
          <li>
            Successful requests get no <code>CF_Authorization</code> cookie: clients send their service token (or a JWT) every time.
          </li>
          <li>
            A request carrying service-token headers together with a JWT, or any <code>CF-Access-Client-*</code> header twice, is refused (401).
          </li>
          <li>401 when the credential cannot authenticate, 403 when it is valid but no policy admits it. Only Service Auth policies apply.</li>
        </ul>
        {feedback}
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
  const [invalid, setInvalid] = useState<string | null>(null);
  const { busy, run, feedback } = useSaver();
  const headingId = useId();
  const daysId = useId();
  const actionId = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const bad = daysError(days, 30, 365);
    setInvalid(bad);
    if (bad) return document.getElementById(daysId)?.focus();
    void run(async () => {
      const { result } = await api.put<AccessOrganization>('/access/organizations', {
        service_token_inactivity: { enabled, inactivity_threshold_days: Number(days), action },
      });
      onSaved(result);
      const s = result.service_token_inactivity;
      return s.enabled
        ? `Inactivity cleanup is on: tokens unused for ${s.inactivity_threshold_days} days are ${s.action === 'delete' ? 'deleted' : 'disabled'}.`
        : 'Inactivity cleanup is off.';
    });
  };
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Inactivity cleanup</h2>
      <form className="form" onSubmit={submit} noValidate>
        <label className="check">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Clean up inactive service tokens
        </label>
        <DaysField
          id={daysId}
          label="Unused for (days)"
          value={days}
          onChange={setDays}
          min={30}
          max={365}
          error={invalid}
          hint="30 to 365. A token is unused when neither its last use nor (if never used) its creation is more recent. Tokens a policy names directly are never cleaned up."
        />
        <div className="field">
          <label htmlFor={actionId}>Action on inactive tokens</label>
          <select id={actionId} value={action} onChange={(e) => setAction(e.target.value as 'disable' | 'delete')}>
            <option value="disable">Disable the token</option>
            <option value="delete">Delete the token</option>
          </select>
        </div>
        {feedback}
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
  const [interval, setIntervalDays] = useState(String(keys.key_rotation_interval_days));
  const [invalid, setInvalid] = useState<string | null>(null);
  const { busy, run, feedback } = useSaver();
  const headingId = useId();
  const intervalId = useId();
  const rotate = () =>
    run(async () => {
      setConfirm(false);
      const { result } = await api.post<SigningKeys>('/access/keys/rotate');
      onChanged(result);
      const fresh = result.keys[0];
      return fresh
        ? `New key ${fresh.kid.slice(0, 8)}… published. It signs new JWTs from ${formatDate(fresh.activates_at)}, once every gateway has it; the old key stays published.`
        : 'Rotated.';
    });
  const saveInterval = (e: FormEvent) => {
    e.preventDefault();
    const bad = daysError(interval, 21, 365);
    setInvalid(bad);
    if (bad) return document.getElementById(intervalId)?.focus();
    void run(async () => {
      const { result } = await api.put<SigningKeys>('/access/keys', { key_rotation_interval_days: Number(interval) });
      onChanged(result);
      return `Keys now rotate every ${result.key_rotation_interval_days} days.`;
    });
  };
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Signing keys</h2>
      <p className="hint">
        The gateway signs every access JWT with these keys (shared by all accounts of this Gatehouse). Applications verify them at /cdn-cgi/access/certs.
      </p>
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
              <td data-label="State">
                {k.state === 'active' ? 'Signing' : k.state === 'pending' ? 'Published, not signing yet' : 'Previous (still accepted)'}
              </td>
              <td data-label="Signs from">{formatDate(k.activates_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {feedback}
      <div className="actions wrap">
        <button type="button" className="btn" onClick={() => setConfirm(true)} disabled={busy}>
          Rotate now
        </button>
      </div>
      <form className="form" onSubmit={saveInterval} noValidate>
        <DaysField id={intervalId} label="Rotate every (days)" value={interval} onChange={setIntervalDays} min={21} max={365} error={invalid} />
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            Save rotation interval
          </button>
        </div>
      </form>
      {confirm ? (
        <Dialog title="Rotate the signing key now?" onClose={() => setConfirm(false)}>
          <p>
            A new key is published at once and signs new JWTs after {keys.activation_delay_seconds} seconds, once every gateway has it. JWTs already issued stay
            valid: the current key stays published until the next rotation.
          </p>
          <div className="actions">
            <button type="button" className="btn btn-primary" onClick={() => void rotate()} disabled={busy}>
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

/** One save action's state: busy, the error in words, the success message. */
function useSaver() {
  const action = useAction();
  const [message, setMessage] = useState('');
  const run = async (fn: () => Promise<string>) => {
    setMessage('');
    await action.run(async () => setMessage(await fn()));
  };
  const { busy, error } = action;
  const feedback = (
    <>
      <ErrorBox error={error} />
      <Live className="notice-live">{message ? <p className="notice">{message}</p> : null}</Live>
    </>
  );
  return { busy, run, feedback };
}

/** A whole number of days in [min, max], or the error to show. */
function daysError(text: string, min: number, max: number): string | null {
  const n = Number(text);
  return !/^\d+$/.test(text.trim()) || n < min || n > max ? `Enter a whole number of days from ${min} to ${max}.` : null;
}

/** A number-of-days input with its hint and inline error (aria-describedby / aria-invalid). */
function DaysField(props: {
  id: string;
  label: string;
  value: string;
  onChange(v: string): void;
  min: number;
  max: number;
  error: string | null;
  hint?: string;
}) {
  const describedBy = [props.hint ? `${props.id}-hint` : '', props.error ? `${props.id}-err` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="number"
        inputMode="numeric"
        min={props.min}
        max={props.max}
        value={props.value}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={describedBy}
        onChange={(e) => props.onChange(e.target.value)}
      />
      {props.hint ? (
        <p className="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      {props.error ? (
        <p className="field-error" id={`${props.id}-err`}>
          {props.error}
        </p>
      ) : null}
    </div>
  );
}
