import { createContext, useCallback, useContext, useMemo } from 'react';
import { request, type RequestOptions } from './api';

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
