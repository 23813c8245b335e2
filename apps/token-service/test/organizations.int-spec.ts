import { randomUUID } from 'node:crypto';
import type { INestMicroservice } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import {
  CreateReusablePolicy,
  CreateAccount,
  CreateApplication,
  CreatePolicy,
  CreateServiceToken,
  GetOrganization,
  GetServiceToken,
  ListAccessRequests,
  ListAuditEvents,
  OrganizationChanged,
  ReplicaHead,
  TokenChanged,
  UpdateOrganization,
  type Actor,
} from '@gatehouse/contracts';
import { connectRpc } from '@gatehouse/nest-kit';
import { createTestDatabase, expectEventually, startNats, type TestDatabase, type TestNats } from '@gatehouse/testing';
import { startTokenService } from '../src/bootstrap.js';
import { migrate, pendingSchemaChanges } from '../src/database/data-source.js';
import { InactivitySweeper } from '../src/organizations/inactivity.sweeper.js';
import { HASH_KEY, pullAll } from './support.js';

const actor: Actor = { type: 'admin', id: 'org-int-test' };
const DAY = 86_400_000;

/** Access organizations, the inactivity cleanup (injected clock) and the access request log. Real PostgreSQL and nats-server. */
describe('access organization, inactivity cleanup, access request log', () => {
  let nats: TestNats;
  let db: TestDatabase;
  let app: INestMicroservice;
  let rpc: Awaited<ReturnType<typeof connectRpc>>;
  let listener: NatsConnection;
  let sql: pg.Client;
  const events: Array<{ subject: string; data: unknown }> = [];
  let now = Date.parse('2027-01-01T00:00:00Z');
  const newAccount = async (name: string) => (await rpc.request(CreateAccount, { name: `${name}-${randomUUID().slice(0, 6)}` })).id;

  beforeAll(async () => {
    nats = await startNats();
    db = await createTestDatabase(async (url) => void (await migrate(url)));
    app = await startTokenService(
      {
        DATABASE_URL: db.url,
        NATS_URL: nats.url,
        GATEHOUSE_HASH_KEY: HASH_KEY,
        GATEHOUSE_NATS_QUEUE: 'token-service',
        GATEHOUSE_LOG_LEVEL: 'error',
        GATEHOUSE_TOMBSTONE_RETENTION: 7 * 86_400_000,
        GATEHOUSE_INACTIVITY_SWEEP_INTERVAL_MS: 0,
        GATEHOUSE_MANAGEMENT_HOST: '127.0.0.1',
        GATEHOUSE_TOKEN_SERVICE_MANAGEMENT_PORT: 0,
      },
      { clock: { now: () => new Date(now) } },
    );
    rpc = await connectRpc(nats.url, 'org-int-test');
    listener = await connect({ servers: nats.url });
    for (const subject of ['organizations.v1.changed', 'tokens.v1.updated', 'tokens.v1.deleted']) {
      const sub = listener.subscribe(subject);
      void (async () => {
        for await (const m of sub) events.push({ subject: m.subject, data: JSON.parse(m.string()).data });
      })();
    }
    await listener.flush();
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await listener?.close();
    await rpc?.close();
    await app?.close();
    await db?.drop();
    await nats?.stop();
  });

  it('has no schema drift: the migration matches the entities', async () => {
    await expect(pendingSchemaChanges(db.url)).resolves.toMatchObject({ up: [] });
  });

  it('answers defaults until saved; updates merge, are audited, published and in the replica snapshot', async () => {
    const accountId = await newAccount('org');
    await expect(rpc.request(GetOrganization, { accountId })).resolves.toMatchObject({
      accountId,
      strictServiceTokenAuth: false,
      sessionDuration: '24h',
      authDomain: null,
      serviceTokenInactivity: { enabled: false, inactivityThresholdDays: 90, action: 'disable' },
      createdAt: null,
    });
    const before = await rpc.request(ReplicaHead, {});
    const saved = await rpc.request(UpdateOrganization, { accountId, name: 'Widgets', authDomain: 'Team.Example.com', strictServiceTokenAuth: true, actor });
    expect(saved).toMatchObject({ name: 'Widgets', authDomain: 'team.example.com', strictServiceTokenAuth: true });
    // A partial inactivity update keeps the other inactivity fields.
    const merged = await rpc.request(UpdateOrganization, { accountId, serviceTokenInactivity: { enabled: true, inactivityThresholdDays: 45 }, actor });
    expect(merged).toMatchObject({
      name: 'Widgets',
      strictServiceTokenAuth: true,
      serviceTokenInactivity: { enabled: true, inactivityThresholdDays: 45, action: 'disable' },
    });
    await expect(rpc.request(GetOrganization, { accountId })).resolves.toEqual(merged);

    await expect(rpc.request(UpdateOrganization, { accountId, serviceTokenInactivity: { inactivityThresholdDays: 29 }, actor })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(rpc.request(UpdateOrganization, { accountId, serviceTokenInactivity: { action: 'archive' as 'delete' }, actor })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(rpc.request(UpdateOrganization, { accountId: randomUUID(), name: 'x', actor })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    await expectEventually(() => {
      const mine = events
        .filter((e) => e.subject === 'organizations.v1.changed')
        .map((e) => OrganizationChanged.parse(e.data))
        .filter((e) => e.organization.accountId === accountId);
      expect(mine).toHaveLength(2);
      expect(mine[1]!.revision).toBeGreaterThan(mine[0]!.revision);
    });
    const audit = await rpc.request(ListAuditEvents, { accountId, action: 'access_organization.updated' });
    expect(audit.totalCount).toBe(2); // same clock instant: find each by what it changed
    expect(audit.items.find((e) => 'serviceTokenInactivity.enabled' in e.metadata)).toMatchObject({
      actor,
      metadata: { 'serviceTokenInactivity.enabled': { from: false, to: true } },
    });
    expect(audit.items.find((e) => 'name' in e.metadata)).toMatchObject({ metadata: { strictServiceTokenAuth: { from: false, to: true } } });
    // The change feed carries the organization at its last change's revision (once: it moved).
    const pulled = await pullAll(rpc, { since: before.head });
    expect(pulled.organizations.filter((o) => o.accountId === accountId)).toEqual([merged]);
    const all = await pullAll(rpc);
    expect(all.organizations.find((o) => o.accountId === accountId)).toEqual(merged);
    // A replica that follows tokens only is not sent organizations.
    expect((await pullAll(rpc, { since: before.head, entities: ['token'] })).organizations).toEqual([]);
  });

  it('disables tokens unused for the threshold (last_seen_at, else created_at), exempting tokens a policy names', async () => {
    const accountId = await newAccount('sweep-disable');
    const other = await newAccount('sweep-off');
    const make = (name: string, account = accountId) => rpc.request(CreateServiceToken, { accountId: account, name, actor });
    now = Date.parse('2027-02-01T00:00:00Z');
    const idle = await make('idle');
    const named = await make('named by a policy');
    const namedReusable = await make('named by a reusable policy');
    const seenLately = await make('seen lately');
    const usedInLog = await make('admitted lately (access log only)');
    const offAccount = await make('idle, cleanup off', other);
    const appRow = await rpc.request(CreateApplication, { accountId, name: 'app', domain: `sweep-${randomUUID().slice(0, 8)}.example.com`, actor });
    await rpc.request(CreatePolicy, {
      accountId,
      appId: appRow.id,
      name: 'p',
      decision: 'non_identity',
      include: [{ anyValidServiceToken: {} }],
      exclude: [{ serviceToken: { tokenId: named.id } }],
      actor,
    });
    await rpc.request(CreateReusablePolicy, {
      accountId,
      name: 'reusable',
      decision: 'non_identity',
      include: [{ serviceToken: { tokenId: namedReusable.id } }],
      actor,
    });
    now += 40 * DAY;
    const recent = new Date(now - 2 * DAY);
    await sql.query('UPDATE service_tokens SET last_seen_at = $2 WHERE id = $1', [seenLately.id, recent]);
    // Microseconds (beyond a JS Date) must not trip the keyset paging.
    await sql.query(`UPDATE service_tokens SET created_at = created_at + interval '1 microsecond' WHERE id = ANY($1::uuid[])`, [[idle.id, named.id]]);
    await sql.query(
      `INSERT INTO audit_events (account_id, action, actor, resource_type, resource_id, resource_name, occurred_at, metadata) VALUES ($1, 'access.allowed', '{"type":"service_token","id":"x"}', 'access_app', $2, 'app', $3, $4)`,
      [accountId, appRow.id, recent, JSON.stringify({ tokenId: usedInLog.id, via: 'service_token', reason: 'admitted', count: 1 })],
    );
    await rpc.request(UpdateOrganization, { accountId, serviceTokenInactivity: { enabled: true, inactivityThresholdDays: 30, action: 'disable' }, actor });

    const sweeper = app.get(InactivitySweeper);
    await expect(sweeper.sweep()).resolves.toEqual({ disabled: 1, deleted: 0 });
    const state = async (id: string, account = accountId) => (await rpc.request(GetServiceToken, { accountId: account, tokenId: id })).enabled;
    expect(await state(idle.id)).toBe(false);
    expect(await state(named.id)).toBe(true);
    expect(await state(namedReusable.id)).toBe(true);
    expect(await state(seenLately.id)).toBe(true);
    expect(await state(usedInLog.id)).toBe(true);
    expect(await state(offAccount.id, other)).toBe(true);
    // Audited with actor system, published like any change; a second pass does nothing.
    const audit = await rpc.request(ListAuditEvents, { accountId, resourceId: idle.id, action: 'service_token.updated' });
    expect(audit.items[0]).toMatchObject({
      actor: { type: 'system', id: 'service_token_inactivity' },
      metadata: { enabled: { from: true, to: false }, cause: 'service_token_inactivity' },
    });
    await expectEventually(() => {
      const e = events
        .filter((x) => x.subject === 'tokens.v1.updated')
        .map((x) => TokenChanged.parse(x.data))
        .find((x) => x.token.id === idle.id);
      expect(e).toMatchObject({ actor: { type: 'system' }, token: { enabled: false } });
    });
    await expect(sweeper.sweep()).resolves.toEqual({ disabled: 0, deleted: 0 });
  });

  it('deletes instead when the action is "delete"', async () => {
    const accountId = await newAccount('sweep-delete');
    now = Date.parse('2027-06-01T00:00:00Z');
    const idle = await rpc.request(CreateServiceToken, { accountId, name: 'idle', actor });
    now += 29 * DAY;
    await rpc.request(UpdateOrganization, { accountId, serviceTokenInactivity: { enabled: true, inactivityThresholdDays: 30, action: 'delete' }, actor });
    const sweeper = app.get(InactivitySweeper);
    await sweeper.sweep();
    await expect(rpc.request(GetServiceToken, { accountId, tokenId: idle.id })).resolves.toMatchObject({ id: idle.id }); // 29 days: not yet
    now += 2 * DAY;
    await sweeper.sweep();
    await expect(rpc.request(GetServiceToken, { accountId, tokenId: idle.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expectEventually(() => expect(events.some((e) => e.subject === 'tokens.v1.deleted' && TokenChanged.parse(e.data).token.id === idle.id)).toBe(true));
    const audit = await rpc.request(ListAuditEvents, { accountId, resourceId: idle.id, action: 'service_token.deleted' });
    expect(audit.items[0]!.actor).toEqual({ type: 'system', id: 'service_token_inactivity' });
  });

  it('lists access decisions in time order with since/until, paging and limit', async () => {
    const accountId = await newAccount('requests');
    const appRow = await rpc.request(CreateApplication, { accountId, name: 'logged', domain: `req-${randomUUID().slice(0, 8)}.example.com`, actor });
    const tokenId = randomUUID();
    const base = Date.parse('2027-03-01T00:00:00Z');
    for (let i = 0; i < 5; i++) {
      await sql.query(
        `INSERT INTO audit_events (account_id, action, actor, resource_type, resource_id, resource_name, occurred_at, metadata) VALUES ($1, $2, $3, 'access_app', $4, 'logged', $5, $6)`,
        [
          accountId,
          i % 2 ? 'access.denied' : 'access.allowed',
          JSON.stringify({ type: 'service_token', id: 'abc.access' }),
          appRow.id,
          new Date(base + i * 60_000),
          JSON.stringify({
            tokenId,
            tokenName: 'tok',
            sourceIp: '127.0.0.1',
            via: 'service_token',
            reason: i % 2 ? 'no_policy_admits' : 'admitted_by_policy:p',
            count: i + 1,
          }),
        ],
      );
    }
    // Not an access decision: never listed.
    await rpc.request(CreateServiceToken, { accountId, name: 'not a decision', actor });
    const all = await rpc.request(ListAccessRequests, { accountId });
    expect(all.totalCount).toBe(5);
    expect(all.items.map((r) => r.count)).toEqual([5, 4, 3, 2, 1]);
    expect(all.items[0]).toMatchObject({
      allowed: true,
      appId: appRow.id,
      appDomain: appRow.domain,
      tokenId,
      tokenName: 'tok',
      clientId: 'abc.access',
      sourceIp: '127.0.0.1',
    });
    const asc = await rpc.request(ListAccessRequests, {
      accountId,
      direction: 'asc',
      since: new Date(base + 60_000).toISOString(),
      until: new Date(base + 180_000).toISOString(),
    });
    expect(asc.items.map((r) => r.count)).toEqual([2, 3, 4]);
    const page2 = await rpc.request(ListAccessRequests, { accountId, page: 2, perPage: 2 });
    expect(page2).toMatchObject({ totalCount: 5, page: 2 });
    expect(page2.items.map((r) => r.count)).toEqual([3, 2]);
    const limited = await rpc.request(ListAccessRequests, { accountId, limit: 3, page: 2, perPage: 2 });
    expect(limited.totalCount).toBe(3);
    expect(limited.items.map((r) => r.count)).toEqual([3]);
    await expect(rpc.request(ListAccessRequests, { accountId: randomUUID() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('reads the access request log through its partial index', async () => {
    await sql.query('SET enable_seqscan = off');
    const plan = await sql.query(
      `EXPLAIN SELECT e.id FROM audit_events e WHERE e.account_id = $1 AND e.action IN ('access.allowed', 'access.denied') ORDER BY e.occurred_at DESC, e.id DESC LIMIT 25`,
      [randomUUID()],
    );
    expect(plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')).toContain('audit_events_access_requests');
  });
});
