import { useEffect, useState, type FormEvent } from 'react';
import { durationError, nameError } from '../lib/format';
import type { Api } from '../lib/session';
import { useAction } from '../lib/use-action';
import type { PolicyRule, ServiceToken } from '../lib/types';
import { TokenPicker } from './token-picker';
import { ErrorBox, Field } from './ui';

/** What the form edits: a Service Auth policy, app-scoped or reusable. */
export interface EditablePolicy {
  id: string;
  name: string;
  include: PolicyRule[];
  precedence?: number;
  session_duration?: string | null;
}

export function ruleText(r: PolicyRule, names: Map<string, string>): string {
  if ('any_valid_service_token' in r) return 'Any valid service token';
  return `Service token ${names.get(r.service_token.token_id) ?? r.service_token.token_id}`;
}

/** Names of the tokens the policies' include rules mention (one GET each; policies name few tokens). */
export function useTokenNames(api: Api, policies: Array<{ include: PolicyRule[] }> | null): Map<string, string> {
  const [names, setNames] = useState(new Map<string, string>());
  const key = JSON.stringify(policies?.map((p) => p.include) ?? []);
  useEffect(() => {
    const ids = [
      ...new Set((JSON.parse(key) as PolicyRule[][]).flatMap((rules) => rules.flatMap((r) => ('service_token' in r ? [r.service_token.token_id] : [])))),
    ];
    let live = true;
    void Promise.all(
      ids.map((i) =>
        api.get<ServiceToken>(`/access/service_tokens/${i}`).then(
          (r) => [i, r.result.name] as const,
          () => [i, 'deleted token'] as const,
        ),
      ),
    ).then((found) => live && setNames(new Map(found)));
    return () => {
      live = false;
    };
  }, [api, key]);
  return names;
}

/**
 * Name and include rules (any valid token, or picked tokens) of a Service Auth policy; with
 * `sessionDuration`, also its optional session duration (reusable policies).
 */
export function PolicyForm({
  title,
  policy,
  names,
  save,
  onSaved,
  onCancel,
  sessionDuration = false,
}: {
  title: string;
  policy: EditablePolicy | null;
  names: Map<string, string>;
  save(body: Record<string, unknown>): Promise<EditablePolicy>;
  onSaved(p: EditablePolicy): void;
  onCancel(): void;
  sessionDuration?: boolean;
}) {
  const [name, setName] = useState(policy?.name ?? '');
  const [any, setAny] = useState(policy?.include.some((r) => 'any_valid_service_token' in r) ?? false);
  const [tokens, setTokens] = useState<Array<{ id: string; name: string }>>(
    policy?.include.flatMap((r) =>
      'service_token' in r ? [{ id: r.service_token.token_id, name: names.get(r.service_token.token_id) ?? r.service_token.token_id }] : [],
    ) ?? [],
  );
  const [session, setSession] = useState(policy?.session_duration ?? '');
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const { busy, error: apiError, run } = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const next = {
      name: nameError(name, 'a policy name'),
      rules: !any && tokens.length === 0 ? 'Pick at least one service token, or allow any valid service token.' : null,
      session:
        sessionDuration && session.trim() ? (session.trim() === 'forever' ? 'A session needs a finite duration, such as 24h.' : durationError(session)) : null,
    };
    setErrors(next);
    if (Object.values(next).some(Boolean)) return;
    const include: PolicyRule[] = any ? [{ any_valid_service_token: {} }] : tokens.map((t) => ({ service_token: { token_id: t.id } }));
    const body: Record<string, unknown> = { name: name.trim(), decision: 'non_identity', include };
    if (policy?.precedence !== undefined) body.precedence = policy.precedence;
    if (sessionDuration) body.session_duration = session.trim() || null;
    await run(async () => onSaved(await save(body)));
  };
  return (
    <form className="subform" onSubmit={submit} noValidate aria-labelledby="policy-form-title">
      <h3 id="policy-form-title">{title}</h3>
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
      {sessionDuration ? (
        <Field
          label="Session duration (optional)"
          value={session}
          onChange={setSession}
          error={errors.session}
          hint="How long an access JWT this policy admits stays valid, e.g. 30m. Empty: each application's own session duration."
        />
      ) : null}
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
