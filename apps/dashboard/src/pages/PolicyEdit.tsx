import { useState } from 'react';
import { formatDate } from '../lib/format';
import { setFlash } from '../lib/flash';
import { Link, navigate } from '../lib/router';
import { useApi, useGet } from '../lib/session';
import { useAction } from '../lib/use-action';
import type { ReusablePolicy } from '../lib/types';
import { PolicyForm, useTokenNames } from '../components/policy-form';
import { ConfirmDialog, LoadFailed, Live, PageTitle } from '../components/ui';

/** One reusable policy: its rules, the applications linking it, delete (refused while linked). */
export function PolicyEditPage({ id }: { id?: string }) {
  const api = useApi();
  const { result: policy, error: loadError, setResult: setPolicy } = useGet<ReusablePolicy>(id ? `/access/policies/${id}` : null);
  const [message, setMessage] = useState('');
  const [confirm, setConfirm] = useState(false);
  const names = useTokenNames(api, policy ? [policy] : null);

  if (id && loadError) return <LoadFailed title="Policy" error={loadError} back={{ to: '/policies', label: 'Back to Policies' }} />;
  if (id && (!policy || (policy.include.some((r) => 'service_token' in r) && names.size === 0))) return <p role="status">Loading…</p>;

  return (
    <div className="page">
      <PageTitle>{policy ? policy.name : 'Add a policy'}</PageTitle>
      <Live className="notice-live">{message ? <p className="notice">{message}</p> : null}</Live>
      {policy ? (
        <section className="card" aria-labelledby="used-by-title">
          <h2 id="used-by-title">Used by</h2>
          {policy.apps.length ? (
            <ul className="policy-list">
              {policy.apps.map((a) => (
                <li key={a.id}>
                  <Link to={`/apps/${a.id}`}>{a.name}</Link> <span className="muted">precedence {a.precedence}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">No application links this policy yet. Link it from an application's page.</p>
          )}
          <p className="muted">Last changed {formatDate(policy.updated_at)}. A change applies at once to every application above.</p>
          <div className="actions">
            <button type="button" className="btn btn-danger" onClick={() => setConfirm(true)}>
              Delete policy
            </button>
          </div>
        </section>
      ) : null}
      <div className="card">
        <PolicyForm
          title={policy ? 'Rules' : 'A reusable Service Auth policy'}
          policy={policy}
          names={names}
          sessionDuration
          save={async (body) =>
            (policy ? await api.put<ReusablePolicy>(`/access/policies/${policy.id}`, body) : await api.post<ReusablePolicy>('/access/policies', body)).result
          }
          onSaved={(p) => {
            if (!policy) {
              setFlash(`Created policy ${p.name}. Link it from an application to let its tokens in.`);
              navigate(`/policies/${p.id}`, { replace: true });
            } else {
              setPolicy(p as ReusablePolicy);
              setMessage('Policy saved: every application linking it applies it now.');
            }
          }}
          onCancel={() => navigate('/policies')}
        />
      </div>
      {confirm && policy ? <ConfirmDelete policy={policy} onClose={() => setConfirm(false)} /> : null}
    </div>
  );
}

function ConfirmDelete({ policy, onClose }: { policy: ReusablePolicy; onClose(): void }) {
  const api = useApi();
  const { busy, error, run } = useAction();
  const remove = () =>
    run(async () => {
      await api.del(`/access/policies/${policy.id}`);
      setFlash(`Deleted policy ${policy.name}.`);
      navigate('/policies', { replace: true });
    });
  return (
    <ConfirmDialog
      title={`Delete ${policy.name}?`}
      action="Delete policy"
      onConfirm={remove}
      onClose={onClose}
      busy={busy}
      error={error}
      errorTitle="Not deleted."
    >
      <p>
        {policy.apps.length
          ? `It is still used by ${policy.apps.map((a) => a.name).join(', ')}: remove it from those applications first (a linked policy cannot be deleted).`
          : 'No application uses it; it is removed for good.'}
      </p>
    </ConfirmDialog>
  );
}
