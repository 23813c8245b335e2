import { useEffect, useState } from 'react';
import { errorText, isAbort, type ResultInfo } from '../lib/api';
import { EXPIRY_MARKS, formatCount, formatDate, relativeTime } from '../lib/format';
import { Link, navigate, useLocation } from '../lib/router';
import { useApi } from '../lib/session';
import { takeFlash } from '../lib/flash';
import type { ServiceToken } from '../lib/types';
import { ErrorBox, Live, PageTitle, Pager, StatusBadge, useDebounced } from '../components/ui';
import { ExpiryTimeline } from '../components/charts';

const PER_PAGE = [20, 50, 100];
/** The timeline reads at most this many of the tokens expiring in the next 90 days (soonest first). */
const TIMELINE_SAMPLE = 1000;

export function TokensPage() {
  const api = useApi();
  const { search: params } = useLocation();
  const page = Math.max(1, Number(params.get('page')) || 1);
  const perPage = PER_PAGE.includes(Number(params.get('per_page'))) ? Number(params.get('per_page')) : 20;
  const q = params.get('q') ?? '';
  const [text, setText] = useState(q);
  const debounced = useDebounced(text, 300);
  const [rows, setRows] = useState<ServiceToken[] | null>(null);
  const [info, setInfo] = useState<ResultInfo>();
  const [error, setError] = useState<string | null>(null);
  const [flash] = useState(takeFlash);

  // Search box → URL (replace: typing does not flood history), back to page 1. Runs only when
  // the debounced text changes, so Back/Forward (which change q) are not undone.
  useEffect(() => {
    if (debounced.trim() === q) return;
    setParams({ q: debounced.trim(), page: 1, per_page: perPage }, true);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- on purpose: only the debounced text triggers it (see above)
  }, [debounced]);

  useEffect(() => {
    const ctl = new AbortController();
    api
      .get<ServiceToken[]>('/access/service_tokens', { search: q || undefined, page, per_page: perPage }, ctl.signal)
      .then(({ result, info }) => {
        setRows(result);
        setInfo(info);
        setError(null);
      })
      .catch((e) => !isAbort(e) && setError(errorText(e)));
    return () => ctl.abort();
  }, [api, q, page, perPage]);

  function setParams(p: { q: string; page: number; per_page: number }, replace = false) {
    const sp = new URLSearchParams();
    if (p.q) sp.set('q', p.q);
    if (p.page > 1) sp.set('page', String(p.page));
    if (p.per_page !== 20) sp.set('per_page', String(p.per_page));
    const s = sp.toString();
    navigate(`/tokens${s ? `?${s}` : ''}`, { replace });
  }

  return (
    <div className="page">
      <PageTitle>Service Tokens</PageTitle>
      {flash ? <Live className="notice">{flash}</Live> : null}
      <p className="lede">
        Service tokens let machines reach your applications: a request carries <code>CF-Access-Client-Id</code> and <code>CF-Access-Client-Secret</code>.
      </p>
      <div className="toolbar">
        <Link to="/tokens/new" className="btn btn-primary">
          Create Service Token
        </Link>
        <div className="field field-inline">
          <label htmlFor="token-search">Search tokens</label>
          <input id="token-search" type="search" value={text} placeholder="Name or client ID" onChange={(e) => setText(e.target.value)} autoComplete="off" />
        </div>
        <div className="field field-inline">
          <label htmlFor="per-page">Per page</label>
          <select id="per-page" value={perPage} onChange={(e) => setParams({ q, page: 1, per_page: Number(e.target.value) })}>
            {PER_PAGE.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </div>
      </div>
      <UpcomingExpiries />
      <ErrorBox error={error} title="Could not load tokens." />
      {rows ? (
        <>
          <table className="table responsive" aria-describedby="tokens-caption">
            <caption id="tokens-caption" className="sr-only">
              Service tokens{q ? ` matching "${q}"` : ''}
            </caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Client ID</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t.id}>
                  <td data-label="Name">
                    <Link to={`/tokens/${t.id}`}>{t.name}</Link>
                  </td>
                  <td data-label="Client ID">
                    <code className="clip" title={t.client_id}>
                      {t.client_id}
                    </code>
                  </td>
                  <td data-label="Status">
                    <StatusBadge token={t} />
                  </td>
                  <td data-label="Created">
                    <time dateTime={t.created_at} title={formatDate(t.created_at)}>
                      {relativeTime(t.created_at)}
                    </time>
                  </td>
                  <td data-label="Expires">
                    {t.expires_at ? (
                      <time dateTime={t.expires_at} title={formatDate(t.expires_at)}>
                        {relativeTime(t.expires_at)}
                      </time>
                    ) : (
                      'Never'
                    )}
                  </td>
                  <td data-label="Last seen">
                    {t.last_seen_at ? (
                      <time dateTime={t.last_seen_at} title={formatDate(t.last_seen_at)}>
                        {relativeTime(t.last_seen_at)}
                      </time>
                    ) : (
                      'Never'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length === 0 ? <p className="empty">{q ? `No token matches "${q}".` : 'No service tokens yet. Create one to let a machine in.'}</p> : null}
          <Pager info={info} noun="tokens" onPage={(p) => setParams({ q, page: p, per_page: perPage })} />
        </>
      ) : !error ? (
        <p role="status">Loading tokens…</p>
      ) : null}
    </div>
  );
}

/** The 90-day expiry timeline: the API returns exactly the tokens expiring in that window (one request). */
function UpcomingExpiries() {
  const api = useApi();
  const [data, setData] = useState<{ tokens: ServiceToken[]; total: number; atLeast: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    const from = new Date();
    const until = new Date(from.getTime() + 90 * 86_400_000);
    api
      .get<ServiceToken[]>(
        '/access/service_tokens',
        { expires_after: from.toISOString(), expires_before: until.toISOString(), per_page: TIMELINE_SAMPLE },
        ctl.signal,
      )
      .then(({ result, info }) => setData({ tokens: result, total: info?.total_count ?? result.length, atLeast: info?.total_is_lower_bound ?? false }))
      .catch((e) => !isAbort(e) && setError(errorText(e)));
    return () => ctl.abort();
  }, [api]);
  if (error) return <ErrorBox error={error} title="Could not load the expiry timeline." />;
  if (!data) return null;
  const now = Date.now();
  const horizon = now + 90 * 86_400_000;
  const upcoming = data.tokens
    .filter((t) => t.enabled && t.expires_at && Date.parse(t.expires_at) >= now && Date.parse(t.expires_at) < horizon)
    .map((t) => ({ name: t.name, at: Date.parse(t.expires_at!), id: t.id }))
    .sort((a, b) => a.at - b.at);
  const next = upcoming[0];
  return (
    <section className="card timeline" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Expiring in the next 90 days</h2>
      <p className="summary">
        {upcoming.length === 0
          ? 'No enabled token expires in the next 90 days.'
          : `${formatCount(upcoming.length)} token${upcoming.length === 1 ? '' : 's'} expire${upcoming.length === 1 ? 's' : ''} in the next 90 days; the first, `}
        {next ? (
          <>
            <Link to={`/tokens/${next.id}`}>{next.name}</Link>, {relativeTime(new Date(next.at).toISOString())}.
          </>
        ) : null}
        {data.total > data.tokens.length
          ? ` (The chart shows the ${formatCount(data.tokens.length)} soonest of ${data.atLeast ? 'at least ' : ''}${formatCount(data.total)}.)`
          : ''}
      </p>
      <ExpiryTimeline expiries={upcoming} now={now} />
      <p className="hint">{EXPIRY_MARKS}</p>
    </section>
  );
}
