import { useState } from 'react';
import { describeDuration } from '../lib/format';
import { takeFlash } from '../lib/flash';
import { Link } from '../lib/router';
import { useGet } from '../lib/session';
import type { AccessApp } from '../lib/types';
import { ErrorBox, Live, PageTitle, Pager } from '../components/ui';

export function AppsPage() {
  const [page, setPage] = useState(1);
  const { result: apps, info, error } = useGet<AccessApp[]>('/access/apps', { page, per_page: 50 });
  const [flash] = useState(takeFlash);
  return (
    <div className="page">
      <PageTitle>Applications</PageTitle>
      {flash ? <Live className="notice">{flash}</Live> : null}
      <p className="lede">
        An application is a host (and optional path) behind the Gatehouse gateway, with Service Auth policies that say which tokens get in.
      </p>
      <div className="toolbar">
        <Link to="/apps/new" className="btn btn-primary">
          Add an application
        </Link>
      </div>
      <ErrorBox error={error} title="Could not load applications." />
      {apps ? (
        <>
          <table className="table responsive">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Domain</th>
                <th scope="col">Upstream</th>
                <th scope="col">Session duration</th>
              </tr>
            </thead>
            <tbody>
              {apps.map((a) => (
                <tr key={a.id}>
                  <td data-label="Name">
                    <Link to={`/apps/${a.id}`}>{a.name}</Link>
                  </td>
                  <td data-label="Domain">
                    <code>{a.domain}</code>
                  </td>
                  <td data-label="Upstream">
                    {a.upstream ? <code className="clip">{a.upstream}</code> : <span className="muted">none (forward-auth only)</span>}
                  </td>
                  <td data-label="Session duration">{describeDuration(a.session_duration)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {apps.length === 0 ? <p className="empty">No applications yet.</p> : null}
          <Pager info={info} noun="applications" onPage={setPage} />
        </>
      ) : null}
    </div>
  );
}
