/** The REST client: same origin, admin bearer token, Cloudflare v4 envelope. */
import type { ResultInfo as ApiResultInfo } from './api-schema.gen';

export type ResultInfo = ApiResultInfo & {
  /** Set here, not by the API: the API's messages say total_count is a lower bound (a broad search). */
  total_is_lower_bound?: boolean;
};

/** The API's `messages[].code` for "total_count is a lower bound" (apps/api envelope.ts). */
const TOTAL_COUNT_LOWER_BOUND = 10_001;

interface Envelope<T> {
  success: boolean;
  errors?: Array<{ code: number; message: string }>;
  messages?: Array<{ code: number; message: string }>;
  result: T;
  result_info?: ResultInfo;
}

/** An API failure, with the envelope's messages kept so forms can show them in words. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly messages: string[],
  ) {
    super(messages.join(' '));
    this.name = 'ApiError';
  }
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  query?: Query;
  signal?: AbortSignal;
}

let onUnauthorized: (message: string) => void = () => undefined;
/** Called when the API refuses the admin token (401/403): the app signs out and says why. */
export function setUnauthorizedHandler(fn: (message: string) => void) {
  onUnauthorized = fn;
}

export function buildUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function request<T>(token: string, path: string, opts: RequestOptions = {}): Promise<{ result: T; info?: ResultInfo }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(buildUrl(path, opts.query), {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, ['Could not reach the Gatehouse API. Check that it is running and try again.']);
  }
  let env: Envelope<T> | undefined;
  try {
    env = (await res.json()) as Envelope<T>;
  } catch {
    env = undefined;
  }
  if (!res.ok || !env || env.success === false) {
    const messages = env?.errors?.map((e) => e.message).filter(Boolean) ?? [];
    if (res.status === 401 || res.status === 403) {
      const text = messages[0] ?? 'The admin token was refused.';
      onUnauthorized(text);
      throw new ApiError(res.status, [text]);
    }
    if (res.status === 404 && messages[0] === 'No route matches this method and path') {
      throw new ApiError(404, ['This feature is not available on this Gatehouse server (the API has no such route).']);
    }
    if (!messages.length) messages.push(`The API answered ${res.status} ${res.statusText || ''}`.trim() + '.');
    throw new ApiError(res.status, messages);
  }
  const bounded = env.messages?.some((m) => m.code === TOTAL_COUNT_LOWER_BOUND) ?? false;
  return { result: env.result, info: env.result_info && (bounded ? { ...env.result_info, total_is_lower_bound: true } : env.result_info) };
}

/** Readable text for any error thrown by `request` (or anything else). */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.messages.join(' ');
  if (e instanceof Error) return e.message;
  return String(e);
}

export const isAbort = (e: unknown) => e instanceof Error && e.name === 'AbortError';
