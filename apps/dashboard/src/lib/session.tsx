import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { errorText, isAbort, request, type RequestOptions, type ResultInfo } from './api';

/** The admin token lives in sessionStorage only (never in the URL, never in localStorage). */
const TOKEN_KEY = 'gatehouse.adminToken';
const ACCOUNT_KEY = 'gatehouse.accountId';

export const storedToken = () => sessionStorage.getItem(TOKEN_KEY);
export const storeToken = (t: string) => sessionStorage.setItem(TOKEN_KEY, t);
export const storedAccount = () => sessionStorage.getItem(ACCOUNT_KEY);
export const storeAccount = (id: string) => sessionStorage.setItem(ACCOUNT_KEY, id);
export function clearSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ACCOUNT_KEY);
}

export interface Account {
  id: string;
  name: string;
}

export interface Session {
  token: string;
  account: Account;
  accounts: Account[];
  switchAccount(id: string): void;
  signOut(message?: string): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

/** Calls scoped to the current account: `api.get('/access/service_tokens')`. */
export function useApi() {
  const { token, account } = useSession();
  const call = useCallback(
    <T,>(path: string, opts?: RequestOptions) => request<T>(token, `/client/v4/accounts/${account.id}${path}`, opts),
    [token, account.id],
  );
  return useMemo(
    () => ({
      accountId: account.id,
      get: <T,>(path: string, query?: RequestOptions['query'], signal?: AbortSignal) => call<T>(path, { query, signal }),
      post: <T,>(path: string, body: unknown = {}) => call<T>(path, { method: 'POST', body }),
      put: <T,>(path: string, body: unknown) => call<T>(path, { method: 'PUT', body }),
      del: <T,>(path: string) => call<T>(path, { method: 'DELETE' }),
    }),
    [call, account.id],
  );
}
export type Api = ReturnType<typeof useApi>;

/**
 * GETs `path` (with `query`) whenever either changes, aborting the previous request: the result,
 * its page info, and the error in words. `path` null: nothing to load.
 */
export function useGet<T>(
  path: string | null,
  query?: RequestOptions['query'],
): { result: T | null; info?: ResultInfo; error: string | null; setResult(r: T): void } {
  const api = useApi();
  const [state, setState] = useState<{ result: T | null; info?: ResultInfo; error: string | null }>({ result: null, error: null });
  const key = JSON.stringify(query ?? {});
  useEffect(() => {
    if (!path) return;
    const ctl = new AbortController();
    api
      .get<T>(path, JSON.parse(key) as RequestOptions['query'], ctl.signal)
      .then(({ result, info }) => setState({ result, info, error: null }))
      .catch((e) => !isAbort(e) && setState((s) => ({ ...s, error: errorText(e) })));
    return () => ctl.abort();
  }, [api, path, key]);
  const setResult = useCallback((result: T) => setState((s) => ({ ...s, result })), []);
  return { ...state, setResult };
}
