import { useState, type FormEvent } from 'react';
import { describeDuration, nameError } from '../lib/format';
import { Link, navigate } from '../lib/router';
import { useApi } from '../lib/session';
import { useAction } from '../lib/use-action';
import type { ServiceTokenWithSecret } from '../lib/types';
import { DurationPicker, validateDuration } from '../components/duration-picker';
import { SecretReveal } from '../components/secret';
import { ErrorBox, Field, PageTitle } from '../components/ui';

/**
 * Create Service Token → Generate token → Client ID / Client Secret (shown once) → Close.
 * The created secret lives only in this component's state; Close drops it and replaces this
 * history entry, so neither Back nor a reload can show it again.
 */
export function CreateTokenPage() {
  const api = useApi();
  const [name, setName] = useState('');
  const [duration, setDuration] = useState('8760h');
  const [errors, setErrors] = useState<{ name?: string | null; duration?: string | null }>({});
  const { busy, error: apiError, run } = useAction();
  const [created, setCreated] = useState<ServiceTokenWithSecret | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const next = { name: nameError(name, 'a name for the token'), duration: validateDuration(duration) };
    setErrors(next);
    if (next.name || next.duration) {
      (document.querySelector('[aria-invalid="true"]') as HTMLElement | null)?.focus();
      return;
    }
    await run(async () => {
      const { result } = await api.post<ServiceTokenWithSecret>('/access/service_tokens', { name: name.trim(), duration: duration.trim() });
      setCreated(result);
    });
  };

  if (created) {
    const close = () => {
      const id = created.id;
      setCreated(null);
      navigate(`/tokens/${id}`, { replace: true });
    };
    return (
      <div className="page">
        <PageTitle>Create Service Token</PageTitle>
        <p role="status">
          Created <strong>{created.name}</strong>, valid for {describeDuration(created.duration).toLowerCase()}.
        </p>
        <SecretReveal title="Save your Client ID and Client Secret" clientId={created.client_id} clientSecret={created.client_secret} onClose={close} />
      </div>
    );
  }

  return (
    <div className="page">
      <PageTitle>Create Service Token</PageTitle>
      <form className="card form" onSubmit={submit} noValidate>
        <Field label="Service token name" value={name} onChange={setName} error={errors.name} required hint="For example ci-deploy or billing-cron." />
        <DurationPicker legend="Service token duration" value={duration} onChange={setDuration} error={errors.duration} />
        <ErrorBox error={apiError} title="The token was not created." />
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Generating…' : 'Generate token'}
          </button>
          <Link to="/tokens" className="btn">
            Cancel
          </Link>
        </div>
      </form>
    </div>
  );
}
