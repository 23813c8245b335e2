import { useState } from 'react';
import { describeDuration } from '../lib/format';
import { takeFlash } from '../lib/flash';
import { Link } from '../lib/router';
import { useApi, useGet } from '../lib/session';
import type { ReusablePolicy } from '../lib/types';
import { ruleText, useTokenNames } from '../components/policy-form';
import { ErrorBox, Live, PageTitle, Pager } from '../components/ui';

/** Reusable Service Auth policies, with the applications linking each. */
export function PoliciesPage() {
  const api = useApi();
  const [page, setPage] = useState(1);
  const { result: policies, info, error } = useGet<ReusablePolicy[]>('/access/policies', { page, per_page: 50 });
  const [flash] = useState(takeFlash);
  const names = useTokenNames(api, policies);
  return (
    <div className="page">
      <PageTitle>Policies</PageTitle>
      {flash ? <Live className="notice">{flash}</Live> : null}
      <p className="lede">
        A reusable policy says which service tokens get in, once, for every application that links it. A change applies to all of them at once. An application
        links reusable policies or has its own policies, not both.
      </p>
      <div className="toolbar">
        <Link to="/policies/new" className="btn btn-primary">
          Add a policy
        </Link>
      </div>
      <ErrorBox error={error} title="Could not load policies." />
      {policies ? (
        <>
          <table className="table responsive">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Include</th>
                <th scope="col">Session duration</th>
                <th scope="col">Used by</th>
              </tr>
            </thead>
            <tbody>
              {policies.map((p) => (
                <tr key={p.id}>
                  <td data-label="Name">
                    <Link to={`/policies/${p.id}`}>{p.name}</Link>
                  </td>
                  <td data-label="Include">{p.include.map((r) => ruleText(r, names)).join(' or ')}</td>
                  <td data-label="Session duration">
                    {p.session_duration ? describeDuration(p.session_duration) : <span className="muted">each application's</span>}
                  </td>
                  <td data-label="Used by">
                    {p.apps.length ? (
                      <ul className="inline-list" aria-label={`Applications using ${p.name}`}>
                        {p.apps.map((a) => (
                          <li key={a.id}>
                            <Link to={`/apps/${a.id}`}>{a.name}</Link>
                          </li>
                        ))}
                      </ul>
                    ) : (
                      <span className="muted">no application</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {policies.length === 0 ? <p className="empty">No reusable policies yet.</p> : null}
          <Pager info={info} noun="policies" onPage={setPage} />
        </>
      ) : null}
    </div>
  );
}
