import { CliError, ExitCode } from './errors.js';
import type { Connection } from './config.js';

interface Envelope {
  success: boolean;
  errors: Array<{ code: number; message: string }>;
  result: unknown;
  result_info?: { page: number; per_page: number; total_count: number; total_pages: number };
}

const isEnvelope = (v: unknown): v is Envelope =>
  typeof v === 'object' && v !== null && typeof (v as Envelope).success === 'boolean' && Array.isArray((v as Envelope).errors);

type Query = Record<string, string | number | undefined>;

/** The admin API over HTTP, in Cloudflare's v4 envelope; every failure becomes a CliError in words. */
export class ApiClient {
  constructor(
    private readonly connection: Connection,
    private readonly timeoutMs = 15_000,
  ) {}

  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>('GET', path, undefined, query).then((e) => e.result);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body).then((e) => e.result);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PUT', path, body).then((e) => e.result);
  }

  delete<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path).then((e) => e.result);
  }

  /** Every item of a paginated list (pages of 1000). */
  async all<T>(path: string, query: Query = {}): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; ; page++) {
      const envelope = await this.call('GET', path, undefined, { ...query, page, per_page: 1000 });
      items.push(...(envelope.result as T[]));
      if (!envelope.result_info || page >= envelope.result_info.total_pages) return items;
    }
  }

  private async call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<Envelope & { result: T }> {
    const url = new URL(this.connection.apiUrl + path);
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { authorization: `Bearer ${this.connection.adminToken}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new CliError(
        `Cannot reach the admin API at ${this.connection.apiUrl}: ${reason(error, this.timeoutMs)}. Is Gatehouse running (npm start)? GATEHOUSE_API_URL sets the address.`,
        ExitCode.UNREACHABLE,
      );
    }
    const text = await res.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!isEnvelope(parsed)) {
      throw new CliError(
        `${this.connection.apiUrl} answered ${method} ${url.pathname} with HTTP ${res.status}, but not as the Gatehouse admin API does; check GATEHOUSE_API_URL.`,
        ExitCode.UNREACHABLE,
      );
    }
    if (!res.ok || !parsed.success) {
      const messages = parsed.errors.map((e) => e.message).filter(Boolean);
      const hint = res.status === 401 || res.status === 403 ? ' (check GATEHOUSE_ADMIN_TOKEN or .gatehouse/admin-token)' : '';
      throw new CliError(`The admin API refused (HTTP ${res.status}): ${messages.join('; ') || 'no reason given'}${hint}`, ExitCode.REFUSED);
    }
    return parsed as Envelope & { result: T };
  }
}

function reason(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000}s`;
  if (e?.cause?.code === 'ECONNREFUSED') return 'connection refused';
  if (e?.cause?.code === 'ENOTFOUND') return 'host not found';
  return e?.cause?.message ?? e?.message ?? String(error);
}
