import { hashClientSecret, type TokenChanged } from '@gatehouse/contracts';
import type { AuditEntry, Ledger } from '../audit/ledger.js';
import type { Tx, UnitOfWork } from '../database/unit-of-work.js';
import type { TokenStore } from './tokens.repository.js';
import type { TokenRecord } from './token.record.js';
import { TokensService } from './tokens.service.js';

const ACCOUNT = '11111111-1111-4111-8111-111111111111';
const KEY = 'unit-test-key-unit-test-key-1234';
const actor = { type: 'admin' as const, id: 'unit' };

/** In-memory fakes: unit tests only (integration tests use the real PostgreSQL). */
function setup() {
  let now = new Date('2026-01-01T00:00:00.000Z');
  const rows = new Map<string, TokenRecord>();
  const audit: AuditEntry[] = [];
  const events: TokenChanged[] = [];
  let revision = 0;
  const store: TokenStore = {
    find: async (a, id) => (rows.get(id)?.accountId === a ? structuredClone(rows.get(id)!) : null),
    findForUpdate: async (a, id) => (rows.get(id)?.accountId === a ? structuredClone(rows.get(id)!) : null),
    list: async () => ({ rows: [...rows.values()], total: rows.size, exact: true }),
    insert: async (t) => {
      rows.set(t.id, structuredClone(t));
      return ++revision;
    },
    update: async (t) => void rows.set(t.id, structuredClone(t)),
    remove: async (_a, id) => void rows.delete(id),
    markSeen: async () => 0,
  };
  const uow: UnitOfWork = { run: (fn) => fn({} as Tx) };
  const ledger: Ledger = { bumpRevision: async () => ++revision, append: async (_tx, e) => void audit.push(e) };
  const service = new TokensService(
    uow,
    store,
    { findById: async (id: string) => (id === ACCOUNT ? ({ id } as never) : null) },
    ledger,
    { tokenChanged: async (e) => void events.push(e) },
    { now: () => now },
    { GATEHOUSE_HASH_KEY: KEY },
  );
  return { service, rows, audit, events, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

describe('TokensService', () => {
  it('defaults to one year and stores only the keyed hash', async () => {
    const { service, rows, events } = setup();
    const t = await service.create(ACCOUNT, 'svc', undefined, actor);
    expect(t.duration).toBe('8760h');
    expect(t.expiresAt).toBe('2027-01-01T00:00:00.000Z');
    expect(rows.get(t.id)!.secretHash).toBe(hashClientSecret(KEY, t.clientSecret));
    expect(JSON.stringify([...rows.values()])).not.toContain(t.clientSecret);
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain(t.clientSecret);
  });

  it('refresh counts the duration from the moment of refresh', async () => {
    const { service, advance } = setup();
    const t = await service.create(ACCOUNT, 'svc', '24h', actor);
    advance(10 * 3_600_000);
    const r = await service.refresh(ACCOUNT, t.id, actor);
    expect(r.expiresAt).toBe('2026-01-02T10:00:00.000Z');
  });

  it('forever tokens never expire, even after refresh', async () => {
    const { service } = setup();
    const t = await service.create(ACCOUNT, 'svc', 'forever', actor);
    expect(t.expiresAt).toBeNull();
    await expect(service.refresh(ACCOUNT, t.id, actor)).resolves.toMatchObject({ expiresAt: null });
  });

  it('rotate keeps the previous secret only for a future grace period', async () => {
    const { service, rows } = setup();
    const t = await service.create(ACCOUNT, 'svc', undefined, actor);
    const r1 = await service.rotate(ACCOUNT, t.id, '2026-01-01T01:00:00.000Z', actor);
    expect(r1.clientSecretVersion).toBe(2);
    expect(rows.get(t.id)!.previousSecretHash).toBe(hashClientSecret(KEY, t.clientSecret));
    expect(r1.previousClientSecretExpiresAt).toBe('2026-01-01T01:00:00.000Z');

    const r2 = await service.rotate(ACCOUNT, t.id, '2025-12-31T00:00:00.000Z', actor);
    expect(r2.previousClientSecretExpiresAt).toBeNull();
    expect(rows.get(t.id)!.previousSecretHash).toBeNull();
    expect(rows.get(t.id)!.secretHash).toBe(hashClientSecret(KEY, r2.clientSecret));
  });

  it('update refuses a grace period without a previous secret', async () => {
    const { service } = setup();
    const t = await service.create(ACCOUNT, 'svc', undefined, actor);
    await expect(service.update({ accountId: ACCOUNT, tokenId: t.id, previousClientSecretExpiresAt: '2026-02-01T00:00:00Z', actor })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });

  it('audits every change by name, in order, with growing revisions', async () => {
    const { service, audit, events } = setup();
    const t = await service.create(ACCOUNT, 'first-name', '1h', actor);
    await service.update({ accountId: ACCOUNT, tokenId: t.id, name: 'second-name', enabled: false, actor });
    await service.delete(ACCOUNT, t.id, actor);
    expect(audit.map((a) => [a.action, a.resourceName])).toEqual([
      ['service_token.created', 'first-name'],
      ['service_token.updated', 'second-name'],
      ['service_token.deleted', 'second-name'],
    ]);
    expect(audit[1]!.metadata).toMatchObject({ name: { from: 'first-name', to: 'second-name' }, enabled: { from: true, to: false } });
    expect(events.map((e) => [e.kind, e.revision])).toEqual([
      ['created', 1],
      ['updated', 2],
      ['deleted', 3],
    ]);
  });

  it('answers NOT_FOUND for another account or an unknown id', async () => {
    const { service } = setup();
    const t = await service.create(ACCOUNT, 'svc', undefined, actor);
    await expect(service.get('22222222-2222-4222-8222-222222222222', t.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(service.refresh(ACCOUNT, '33333333-3333-4333-8333-333333333333', actor)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(service.create('22222222-2222-4222-8222-222222222222', 'x', undefined, actor)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
