import { useEffect, useRef, useState, type FormEvent } from 'react';
import { errorText } from '../lib/api';
import { ALERT_LEAD_DAYS, EXPIRING_SOON_DAYS, nameError, recipientErrors } from '../lib/format';
import { setFlash } from '../lib/flash';
import { Link, navigate } from '../lib/router';
import { useApi, useGet } from '../lib/session';
import { useAction } from '../lib/use-action';
import type { AlertPolicy, WebhookDestination } from '../lib/types';
import { ConfirmDialog, ErrorBox, Field, LoadFailed, PageTitle } from '../components/ui';
import { ALERT_TYPE } from './Notifications';

export function AlertEditPage({ id }: { id?: string }) {
  const { result: policy, error: loadError } = useGet<AlertPolicy>(id ? `/alerting/v3/policies/${id}` : null);
  if (id && loadError) return <LoadFailed title="Alert" error={loadError} back={{ to: '/notifications', label: 'Back to Notifications' }} />;
  if (id && !policy) return <p role="status">Loading…</p>;
  return (
    <div className="page">
      <PageTitle>{policy ? `Edit ${policy.name}` : 'Create alert'}</PageTitle>
      <AlertForm policy={policy} />
    </div>
  );
}

function AlertForm({ policy }: { policy: AlertPolicy | null }) {
  const api = useApi();
  const [name, setName] = useState(policy?.name ?? '');
  const [description, setDescription] = useState(policy?.description ?? '');
  const [enabled, setEnabled] = useState(policy?.enabled ?? true);
  const [emails, setEmails] = useState<string[]>(policy?.mechanisms.email?.map((m) => m.id) ?? ['']);
  const [hooks, setHooks] = useState<WebhookDestination[]>([]);
  const [chosen, setChosen] = useState<string[]>(policy?.mechanisms.webhooks?.map((m) => m.id) ?? []);
  const [errors, setErrors] = useState<{ name?: string | null; emails?: Array<string | null>; mechanisms?: string | null }>({});
  const { busy, error: saveError, run } = useAction();
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const apiError = deleteError ?? saveError;
  const [deleting, setDeleting] = useState(false);
  const lastEmail = useRef<HTMLInputElement>(null);
  const [focusNew, setFocusNew] = useState(false);
  useEffect(() => {
    api
      .get<WebhookDestination[]>('/alerting/v3/destinations/webhooks')
      .then(({ result }) => setHooks(result))
      .catch(() => undefined);
  }, [api]);
  useEffect(() => {
    if (focusNew) lastEmail.current?.focus();
    setFocusNew(false);
  }, [focusNew]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const list = emails.map((m) => m.trim()).filter(Boolean);
    const next = {
      name: nameError(name, 'a name for the alert'),
      emails: recipientErrors(emails),
      mechanisms: list.length === 0 && chosen.length === 0 ? 'Add at least one email recipient or webhook.' : null,
    };
    setErrors(next);
    if (next.name || next.mechanisms || next.emails.some(Boolean)) return;
    const body = {
      name: name.trim(),
      description: description.trim(),
      enabled,
      alert_type: ALERT_TYPE,
      mechanisms: { email: list.map((id) => ({ id })), webhooks: chosen.map((id) => ({ id })) },
    };
    setDeleteError(null);
    await run(async () => {
      const { result } = policy
        ? await api.put<AlertPolicy>(`/alerting/v3/policies/${policy.id}`, body)
        : await api.post<AlertPolicy>('/alerting/v3/policies', body);
      setFlash(`${policy ? 'Saved' : 'Created'} alert ${result.name ?? body.name}.`);
      navigate('/notifications');
    });
  };
  const remove = async () => {
    try {
      await api.del(`/alerting/v3/policies/${policy!.id}`);
      setFlash(`Deleted alert ${policy!.name}.`);
      navigate('/notifications', { replace: true });
    } catch (err) {
      setDeleteError(errorText(err));
      setDeleting(false);
    }
  };

  return (
    <form className="card form" onSubmit={submit} noValidate>
      <p>
        Alert type: <strong>Expiring Access Service Token</strong> — sent {ALERT_LEAD_DAYS} days before a service token expires. (The tokens list marks a token
        "expiring soon" earlier, from {EXPIRING_SOON_DAYS} days before.)
      </p>
      <Field label="Alert name" value={name} onChange={setName} error={errors.name} required />
      <Field label="Description" value={description} onChange={setDescription} hint="Optional." />
      <label className="check">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
      </label>
      <fieldset className="field">
        <legend>Email recipients</legend>
        {emails.map((m, i) => (
          <div className="row" key={i}>
            <div className="field grow">
              <label htmlFor={`email-${i}`}>Email recipient {i + 1}</label>
              <input
                id={`email-${i}`}
                ref={i === emails.length - 1 ? lastEmail : undefined}
                type="email"
                inputMode="email"
                autoComplete="off"
                value={m}
                aria-invalid={errors.emails?.[i] ? true : undefined}
                aria-describedby={errors.emails?.[i] ? `email-${i}-err` : undefined}
                onChange={(e) => setEmails(emails.map((x, j) => (j === i ? e.target.value : x)))}
              />
              {errors.emails?.[i] ? (
                <p className="field-error" id={`email-${i}-err`}>
                  {errors.emails[i]}
                </p>
              ) : null}
            </div>
            {emails.length > 1 ? (
              <button type="button" className="btn btn-small" onClick={() => setEmails(emails.filter((_, j) => j !== i))}>
                Remove <span className="sr-only">recipient {i + 1}</span>
              </button>
            ) : null}
          </div>
        ))}
        <button
          type="button"
          className="btn btn-small"
          onClick={() => {
            setEmails([...emails, '']);
            setFocusNew(true);
          }}
        >
          + Add email recipient
        </button>
      </fieldset>
      <fieldset className="field">
        <legend>Webhooks</legend>
        {hooks.length === 0 ? (
          <p className="muted">
            No webhook destinations yet; add one on the <Link to="/notifications">Notifications</Link> page.
          </p>
        ) : (
          hooks.map((h) => (
            <label className="check" key={h.id}>
              <input
                type="checkbox"
                checked={chosen.includes(h.id)}
                onChange={(e) => setChosen(e.target.checked ? [...chosen, h.id] : chosen.filter((x) => x !== h.id))}
              />
              {h.name} <span className="muted">{h.url}</span>
            </label>
          ))
        )}
      </fieldset>
      {errors.mechanisms ? <p className="field-error">{errors.mechanisms}</p> : null}
      <ErrorBox error={apiError} title="Not saved." />
      <div className="actions wrap">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {policy ? 'Save alert' : 'Create alert'}
        </button>
        <Link to="/notifications" className="btn">
          Cancel
        </Link>
        {policy ? (
          <button type="button" className="btn btn-danger" onClick={() => setDeleting(true)}>
            Delete alert
          </button>
        ) : null}
      </div>
      {deleting ? (
        <ConfirmDialog title={`Delete ${policy!.name}?`} action="Delete alert" onConfirm={remove} onClose={() => setDeleting(false)}>
          <p>No more alerts will be sent for this policy.</p>
        </ConfirmDialog>
      ) : null}
    </form>
  );
}
