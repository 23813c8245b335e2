import { useCallback, useEffect, useMemo, useState } from 'react';
import { request, setUnauthorizedHandler } from './lib/api';
import { Link, match, navigate, useLocation } from './lib/router';
import { SessionContext, clearSession, storeAccount, storeToken, storedAccount, storedToken, type Account, type Session } from './lib/session';
import { SignIn } from './pages/SignIn';
import { TokensPage } from './pages/Tokens';
import { CreateTokenPage } from './pages/CreateToken';
import { TokenDetailPage } from './pages/TokenDetail';
import { AppsPage } from './pages/Apps';
import { AppEditPage } from './pages/AppEdit';
import { NotificationsPage } from './pages/Notifications';
import { AlertEditPage } from './pages/AlertEdit';
import { AuditPage } from './pages/Audit';
import { SettingsPage } from './pages/Settings';
import { SectionContext } from './components/ui';
import { PoliciesPage } from './pages/Policies';
import { PolicyEditPage } from './pages/PolicyEdit';

const NAV = [
  { to: '/tokens', label: 'Service Tokens', prefix: '/tokens' },
  { to: '/apps', label: 'Applications', prefix: '/apps' },
  { to: '/policies', label: 'Policies', prefix: '/policies' },
  { to: '/notifications', label: 'Notifications', prefix: '/notifications' },
  { to: '/audit', label: 'Audit log', prefix: '/audit' },
  { to: '/settings', label: 'Settings', prefix: '/settings' },
];

export function App() {
  const [token, setToken] = useState<string | null>(storedToken);
  const [accounts, setAccounts] = useState<Account[] | null>(null);
  const [accountId, setAccountId] = useState<string | null>(storedAccount);
  const [notice, setNotice] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);

  const signOut = useCallback((message?: string) => {
    clearSession();
    setToken(null);
    setAccounts(null);
    setNotice(message ?? null);
  }, []);
  useEffect(() => setUnauthorizedHandler((m) => storedToken() && signOut(`Signed out: ${m}`)), [signOut]);

  const signedIn = useCallback((t: string, list: Account[]) => {
    storeToken(t);
    setToken(t);
    setAccounts(list);
    setNotice(null);
    const keep = list.find((a) => a.id === storedAccount()) ?? list[0];
    if (keep) {
      storeAccount(keep.id);
      setAccountId(keep.id);
    }
  }, []);

  // A reload keeps the session (sessionStorage): fetch the accounts again.
  useEffect(() => {
    if (!token || accounts) return;
    request<Account[]>(token, '/client/v4/accounts')
      .then(({ result }) => signedIn(token, result))
      .catch((e) => setLoadError((e as Error).message));
  }, [token, accounts, signedIn]);

  const account = accounts?.find((a) => a.id === accountId) ?? accounts?.[0];
  const session: Session | null = useMemo(
    () =>
      token && accounts && account
        ? {
            token,
            account,
            accounts,
            switchAccount(id: string) {
              storeAccount(id);
              setAccountId(id);
              navigate('/tokens');
            },
            signOut,
          }
        : null,
    [token, accounts, account, signOut],
  );

  if (!token) return <SignIn onSignedIn={signedIn} notice={notice} />;
  if (!session) {
    return (
      <main className="center" id="main">
        {loadError ? (
          <div className="card">
            <p role="alert">{loadError}</p>
            <button className="btn" onClick={() => signOut()}>
              Sign in again
            </button>
          </div>
        ) : accounts && accounts.length === 0 ? (
          <p role="alert">This Gatehouse has no account yet.</p>
        ) : (
          <p role="status">Loading…</p>
        )}
      </main>
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Shell />
    </SessionContext.Provider>
  );
}

function Shell() {
  const { path } = useLocation();
  return (
    <SessionContext.Consumer>
      {(s) => (
        <div className="shell">
          <a className="skip" href="#main">
            Skip to content
          </a>
          <header className="topbar">
            <Link to="/tokens" className="brand">
              Gatehouse
            </Link>
            <div className="topbar-right">
              <label className="account-switch">
                <span>Account</span>
                <select value={s!.account.id} onChange={(e) => s!.switchAccount(e.target.value)}>
                  {s!.accounts.map((a) => (
                    <option key={a.id} value={a.id}>
                      {a.name}
                    </option>
                  ))}
                </select>
              </label>
              <button type="button" className="btn btn-small" onClick={() => s!.signOut('Signed out.')}>
                Sign out
              </button>
            </div>
          </header>
          <nav className="sidenav" aria-label="Main">
            <p className="nav-group">Access</p>
            <ul>
              {NAV.map((n) => (
                <li key={n.to}>
                  <Link to={n.to} aria-current={path.startsWith(n.prefix) ? 'page' : undefined}>
                    {n.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          <main id="main" className="main">
            <SectionContext.Provider value={NAV.find((n) => path.startsWith(n.prefix)) ?? NAV[0]!}>
              <Routes path={path} key={s!.account.id} />
            </SectionContext.Provider>
          </main>
        </div>
      )}
    </SessionContext.Consumer>
  );
}

function Routes({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === '/' || path === '/tokens') return <TokensPage />;
  if (path === '/tokens/new') return <CreateTokenPage />;
  if ((m = match('/tokens/:id', path))) return <TokenDetailPage key={m.id} id={m.id!} />;
  if (path === '/apps') return <AppsPage />;
  if (path === '/apps/new') return <AppEditPage key="new" />;
  if ((m = match('/apps/:id', path))) return <AppEditPage key={m.id} id={m.id} />;
  if (path === '/policies') return <PoliciesPage />;
  if (path === '/policies/new') return <PolicyEditPage key="new" />;
  if ((m = match('/policies/:id', path))) return <PolicyEditPage key={m.id} id={m.id} />;
  if (path === '/notifications') return <NotificationsPage />;
  if (path === '/notifications/new') return <AlertEditPage key="new" />;
  if ((m = match('/notifications/:id', path))) return <AlertEditPage key={m.id} id={m.id} />;
  if (path === '/audit') return <AuditPage />;
  if (path === '/settings') return <SettingsPage />;
  return (
    <div>
      <h1>Not found</h1>
      <p>
        No page at {path}. <Link to="/tokens">Go to Service Tokens</Link>.
      </p>
    </div>
  );
}
