import { EventEmitter } from 'node:events';
import { ErrorCodes } from '@gatehouse/contracts';
import type { ExecutionContext } from '@nestjs/common';
import { AdminAuthGuard } from './admin-auth.guard.js';
import { TOTAL_COUNT_LOWER_BOUND, okPage } from './envelope.js';
import { statusOf } from './http-errors.js';
import { jsonBody } from './json-body.middleware.js';
import { loadEnv } from '../config/env.js';

const ADMIN = 'a'.repeat(40);
const env = (vars: Record<string, string>) => loadEnv({ NATS_URL: 'nats://127.0.0.1:4222', ...vars });

function contextWith(authorization?: string): ExecutionContext {
  const req = { headers: authorization === undefined ? {} : { authorization } };
  return { switchToHttp: () => ({ getRequest: () => req }) } as unknown as ExecutionContext;
}

describe('AdminAuthGuard', () => {
  const guard = new AdminAuthGuard(env({ GATEHOUSE_ADMIN_TOKEN: ADMIN }));

  it('admits the exact bearer token', () => {
    expect(guard.canActivate(contextWith(`Bearer ${ADMIN}`))).toBe(true);
    expect(guard.canActivate(contextWith(`bearer ${ADMIN} `))).toBe(true);
  });

  it.each([
    [undefined, 401],
    ['', 401],
    [ADMIN, 401],
    ['Basic abc', 401],
    [`Bearer ${ADMIN}x`, 403],
    [`Bearer ${ADMIN.slice(1)}`, 403],
    ['Bearer short', 403],
  ])('refuses %p with %d', (header, status) => {
    expect(() => guard.canActivate(contextWith(header))).toThrow(expect.objectContaining({ status }));
  });
});

describe('AdminAuthGuard with GATEHOUSE_ADMIN_TOKENS (rotation without downtime)', () => {
  const OLD = 'o'.repeat(32);
  const NEW = 'n'.repeat(48);
  const allows = (guard: AdminAuthGuard, token: string) => {
    try {
      return guard.canActivate(contextWith(`Bearer ${token}`));
    } catch (e) {
      return (e as { status: number }).status;
    }
  };

  it('accepts GATEHOUSE_ADMIN_TOKEN and every entry of the list, and nothing else', () => {
    const guard = new AdminAuthGuard(env({ GATEHOUSE_ADMIN_TOKEN: ADMIN, GATEHOUSE_ADMIN_TOKENS: ` ${OLD}, ${NEW},` }));
    expect([ADMIN, OLD, NEW].map((t) => allows(guard, t))).toEqual([true, true, true]);
    expect([`${OLD},${NEW}`, OLD.slice(1), `${NEW}n`, 'x'.repeat(40)].map((t) => allows(guard, t))).toEqual([403, 403, 403, 403]);
  });

  it('works with the list alone, so the single token can be retired', () => {
    const guard = new AdminAuthGuard(env({ GATEHOUSE_ADMIN_TOKENS: `${OLD},${NEW}` }));
    expect([OLD, NEW, ADMIN].map((t) => allows(guard, t))).toEqual([true, true, 403]);
  });

  it('refuses to start without any admin token, or with a short entry (naming it, never its value)', () => {
    expect(() => env({})).toThrow(/GATEHOUSE_ADMIN_TOKEN: set GATEHOUSE_ADMIN_TOKEN or GATEHOUSE_ADMIN_TOKENS/);
    expect(() => env({ GATEHOUSE_ADMIN_TOKENS: ' , ' })).toThrow(/GATEHOUSE_ADMIN_TOKEN: set/);
    let message = '';
    try {
      env({ GATEHOUSE_ADMIN_TOKENS: `${OLD},short-secret-value` });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/GATEHOUSE_ADMIN_TOKENS\.1: must be at least 24 characters/);
    expect(message).not.toContain('short-secret-value');
  });
});

describe('okPage', () => {
  it("keeps Cloudflare's result_info, and says so in messages when total_count is a lower bound", () => {
    const exact = okPage(['a', 'b'], { page: 2, perPage: 2, totalCount: 5 });
    expect(exact).toMatchObject({ messages: [], result_info: { page: 2, per_page: 2, count: 2, total_count: 5, total_pages: 3 } });
    const bounded = okPage(['a'], { page: 1, perPage: 20, totalCount: 1020, totalCountExact: false });
    expect(bounded.result_info).toEqual({ page: 1, per_page: 20, count: 1, total_count: 1020, total_pages: 51 });
    expect(bounded.messages).toEqual([{ code: TOTAL_COUNT_LOWER_BOUND, message: expect.stringContaining('At least 1020') }]);
  });
});

describe('statusOf', () => {
  it('maps every error code to a status, with client errors as 4xx', () => {
    for (const code of ErrorCodes) expect(statusOf(code).status).toBeGreaterThanOrEqual(400);
    expect(statusOf('VALIDATION_FAILED').status).toBe(400);
    expect(statusOf('NOT_FOUND').status).toBe(404);
    expect(statusOf('CONFLICT').status).toBe(409);
    expect(statusOf('UNAVAILABLE').status).toBe(503);
  });
});

/** Drives the middleware with a minimal request stream and response recorder (no I/O). */
async function send(method: string, body: string | Buffer, contentType?: string, limit?: number) {
  const req = Object.assign(new EventEmitter(), {
    method,
    headers: contentType ? { 'content-type': contentType } : {},
    body: 'untouched',
    resume: () => undefined,
  });
  const res = {
    statusCode: 0,
    payload: undefined as unknown,
    status(code: number) {
      this.statusCode = code;
      return this;
    },
    json(p: unknown) {
      this.payload = p;
    },
  };
  const outcome = new Promise<'next' | 'responded'>((resolve) => {
    const origJson = res.json.bind(res);
    res.json = (p: unknown) => (origJson(p), resolve('responded'));
    jsonBody(limit)(req as never, res as never, () => resolve('next'));
  });
  if (method !== 'GET') {
    req.emit('data', Buffer.from(body));
    req.emit('end');
  }
  return { result: await outcome, req, res };
}

describe('jsonBody middleware', () => {
  it('parses JSON bodies declared as JSON', async () => {
    const { result, req } = await send('POST', '{"name":"x"}', 'application/json; charset=utf-8');
    expect(result).toBe('next');
    expect(req.body).toEqual({ name: 'x' });
  });

  it('treats an empty body as no body, whatever its type', async () => {
    const { result, req } = await send('POST', '  ', 'text/plain');
    expect(result).toBe('next');
    expect(req.body).toBeUndefined();
  });

  it.each([
    ['{"name": ', 'application/json', 400, /not valid JSON/],
    ['{"name":"x"}', 'text/plain', 400, /Content-Type/],
    ['{"name":"x"}', undefined, 400, /Content-Type/],
  ])('refuses %p (%p) in the envelope', async (body, type, status, message) => {
    const { result, res } = await send('PUT', body, type);
    expect(result).toBe('responded');
    expect(res.statusCode).toBe(status);
    expect(res.payload).toMatchObject({ success: false, result: null, errors: [{ message: expect.stringMatching(message) }] });
  });

  it('refuses bodies over the limit with 413', async () => {
    const { result, res } = await send('POST', 'x'.repeat(100), 'application/json', 50);
    expect(result).toBe('responded');
    expect(res.statusCode).toBe(413);
  });

  it('leaves GET requests alone', async () => {
    const { result, req } = await send('GET', '');
    expect(result).toBe('next');
    expect(req.body).toBe('untouched');
  });
});
