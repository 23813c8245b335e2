import { useState, type FormEvent } from 'react';
import { errorText, request } from '../lib/api';
import type { Account } from '../lib/session';
import { ErrorBox, Field } from '../components/ui';

/** Sign-in with the admin token; the token goes to sessionStorage only after the API accepts it. */
export function SignIn({ onSignedIn, notice }: { onSignedIn(token: string, accounts: Account[]): void; notice: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return setError('Enter the admin token (GATEHOUSE_ADMIN_TOKEN, or the contents of .gatehouse/admin-token).');
    setBusy(true);
    setError(null);
    try {
      const { result } = await request<Account[]>(t, '/client/v4/accounts');
      onSignedIn(t, result);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="center" id="main">
      <form className="card signin" onSubmit={submit} noValidate method="post" action="#">
        <h1>Sign in to Gatehouse</h1>
        {notice ? (
          <p className="notice" role="status">
            {notice}
          </p>
        ) : null}
        <Field
          label="Admin token"
          type="password"
          name="admin-token"
          autoComplete="current-password"
          value={token}
          onChange={setToken}
          autoFocus
          required
          hint={
            <>
              The value of <code>GATEHOUSE_ADMIN_TOKEN</code>; after <code>npm start</code> without it, the file <code>.gatehouse/admin-token</code> holds the
              token generated for you. It is kept only for this browser tab's session.
            </>
          }
        />
        <ErrorBox error={error} />
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
