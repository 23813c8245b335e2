import { useEffect, useId, useState } from 'react';
import { errorText, isAbort } from '../lib/api';
import { useApi } from '../lib/session';
import type { ServiceToken } from '../lib/types';
import { StatusBadge, useDebounced } from './ui';

/** Search the account's tokens (server-side) and pick one or more. */
export function TokenPicker({
  selected,
  onChange,
  multiple = true,
  label = 'Service tokens',
}: {
  selected: Array<{ id: string; name: string }>;
  onChange(v: Array<{ id: string; name: string }>): void;
  multiple?: boolean;
  label?: string;
}) {
  const api = useApi();
  const id = useId();
  const [q, setQ] = useState('');
  const search = useDebounced(q, 250);
  const [found, setFound] = useState<ServiceToken[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    api
      .get<ServiceToken[]>('/access/service_tokens', { search, per_page: 8 }, ctl.signal)
      .then(({ result }) => {
        setFound(result);
        setError(null);
      })
      .catch((e) => !isAbort(e) && setError(errorText(e)));
    return () => ctl.abort();
  }, [api, search]);
  const isSel = (t: { id: string }) => selected.some((s) => s.id === t.id);
  const toggle = (t: ServiceToken) => {
    if (isSel(t)) onChange(selected.filter((s) => s.id !== t.id));
    else onChange(multiple ? [...selected, { id: t.id, name: t.name }] : [{ id: t.id, name: t.name }]);
  };
  return (
    <div className="token-picker">
      <div className="field">
        <label htmlFor={id}>{label}: search by name or client ID</label>
        <input id={id} type="search" value={q} onChange={(e) => setQ(e.target.value)} autoComplete="off" />
      </div>
      {error ? <p className="field-error">{error}</p> : null}
      <ul className="pick-list" aria-label="Matching tokens">
        {found.map((t) => (
          <li key={t.id}>
            <label className="check">
              <input type={multiple ? 'checkbox' : 'radio'} name={`${id}-pick`} checked={isSel(t)} onChange={() => toggle(t)} />
              {t.name} <StatusBadge token={t} />
            </label>
          </li>
        ))}
        {found.length === 0 && !error ? <li className="muted">No token matches.</li> : null}
      </ul>
      {selected.length ? (
        <p className="chips" aria-label="Selected tokens">
          {selected.map((s) => (
            <span key={s.id} className="chip">
              {s.name}
              <button type="button" className="chip-x" aria-label={`Remove ${s.name}`} onClick={() => onChange(selected.filter((x) => x.id !== s.id))}>
                ×
              </button>
            </span>
          ))}
        </p>
      ) : null}
    </div>
  );
}
