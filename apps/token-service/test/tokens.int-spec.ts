import { randomUUID } from 'node:crypto';
import {
  CreateServiceToken,
  DeleteServiceToken,
  GetServiceToken,
  ListAccounts,
  ListAuditEvents,
  ListServiceTokens,
  RefreshServiceToken,
  RotateServiceToken,
  TokenChanged,
  UpdateServiceToken,
  TokensSeen,
  hashClientSecret,
  type Actor,
} from '@gatehouse/contracts';
import { expectEventually, type TestDatabase, type TestNats } from '@gatehouse/testing';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';

import { HASH_KEY, pullAll, startHarness, type TokenServiceHarness } from './support.js';
const actor: Actor = { type: 'admin', id: 'int-test' };

describe('token service over real NATS and PostgreSQL', () => {
  let h: TokenServiceHarness;
  let nats: TestNats;
  let db: TestDatabase;
  let rpc: TokenServiceHarness['rpc'];
  let events: TokenServiceHarness['events'];
  let accountId: string;

  beforeAll(async () => {
    h = await startHarness(['tokens.v1.*'], 'int-test');
    ({ nats, db, rpc, events, defaultAccountId: accountId } = h);
  });

  afterAll(async () => h?.stop());

  it('has a default account after migration', async () => {
    await expect(rpc.request(ListAccounts, {})).resolves.toEqual([expect.objectContaining({ name: 'Default account' })]);
  });

  it('creates a token with a one-time secret, stores only its keyed hash, and announces it', async () => {
    const created = await rpc.request(CreateServiceToken, { accountId, name: 'ci-runner', actor });
    expect(created.clientId).toMatch(/^[0-9a-f]{32}\.access$/);
    expect(created.clientSecret).toMatch(/^gatehouse_/);
    expect(created.duration).toBe('8760h');
    const year = Date.parse(created.expiresAt!) - Date.parse(created.createdAt);
    expect(year).toBe(8760 * 3600 * 1000);

    const fetched = await rpc.request(GetServiceToken, { accountId, tokenId: created.id });
    expect(fetched).not.toHaveProperty('clientSecret');

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT * FROM service_tokens WHERE id = $1', [created.id]);
      expect(JSON.stringify(rows)).not.toContain(created.clientSecret);
      expect(rows[0].secret_hash).toBe(hashClientSecret(HASH_KEY, created.clientSecret));
    } finally {
      await client.end();
    }

    const event = await expectEventually(() => {
      const e = events.find((x) => x.subject === 'tokens.v1.created' && (x.data as TokenChanged).token.id === created.id);
      expect(e).toBeDefined();
      return TokenChanged.parse(e!.data);
    });
    expect(JSON.stringify(event)).not.toContain(created.clientSecret);
    expect(event.actor).toEqual(actor);
  });

  it('refreshes, rotates with a grace period, updates and deletes, auditing each by name', async () => {
    const name = `lifecycle-${randomUUID()}`;
    const created = await rpc.request(CreateServiceToken, { accountId, name, duration: '1h', actor });
    const refreshed = await rpc.request(RefreshServiceToken, { accountId, tokenId: created.id, actor });
    expect(Date.parse(refreshed.expiresAt!)).toBeGreaterThanOrEqual(Date.parse(created.expiresAt!));

    const grace = new Date(Date.now() + 3_600_000).toISOString();
    const rotated = await rpc.request(RotateServiceToken, { accountId, tokenId: created.id, previousClientSecretExpiresAt: grace, actor });
    expect(rotated.clientSecret).not.toBe(created.clientSecret);
    expect(rotated.clientSecretVersion).toBe(2);
    expect(rotated.previousClientSecretExpiresAt).toBe(grace);

    const snapshot = await pullAll(rpc, { since: -1, entities: ['token'] });
    const verifier = snapshot.tokens.find((t) => t.id === created.id)!;
    expect(verifier.secretHash).toBe(hashClientSecret(HASH_KEY, rotated.clientSecret));
    expect(verifier.previousSecretHash).toBe(hashClientSecret(HASH_KEY, created.clientSecret));

    const renamed = await rpc.request(UpdateServiceToken, { accountId, tokenId: created.id, name: `${name}-2`, enabled: false, actor });
    expect(renamed).toMatchObject({ name: `${name}-2`, enabled: false });

    await rpc.request(DeleteServiceToken, { accountId, tokenId: created.id, actor });
    await expect(rpc.request(GetServiceToken, { accountId, tokenId: created.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const audit = await rpc.request(ListAuditEvents, { accountId, resourceId: created.id, perPage: 50 });
    expect(audit.items.map((e) => e.action).reverse()).toEqual([
      'service_token.created',
      'service_token.refreshed',
      'service_token.rotated',
      'service_token.updated',
      'service_token.deleted',
    ]);
    expect(audit.items.at(-1)!.resourceName).toBe(name);
    expect(audit.items[0]!.resourceName).toBe(`${name}-2`);

    const revisions = events.filter((e) => (e.data as TokenChanged).token?.id === created.id).map((e) => (e.data as TokenChanged).revision);
    await expectEventually(() => expect(revisions.length).toBeGreaterThan(0));
    expect(snapshot.revision).toBeGreaterThanOrEqual(3);
  });

  it('rotates on an update with a greater client_secret_version (secret only then); equal changes nothing, lower is refused', async () => {
    const created = await rpc.request(CreateServiceToken, { accountId, name: `put-rotate-${randomUUID()}`, actor });
    const grace = new Date(Date.now() + 3_600_000).toISOString();
    const rotated = await rpc.request(UpdateServiceToken, {
      accountId,
      tokenId: created.id,
      clientSecretVersion: 3,
      previousClientSecretExpiresAt: grace,
      actor,
    });
    expect(rotated).toMatchObject({ clientSecretVersion: 3, previousClientSecretExpiresAt: grace, clientSecret: expect.stringMatching(/^gatehouse_/) });
    expect(rotated.clientSecret).not.toBe(created.clientSecret);
    const verifier = (await pullAll(rpc, { since: -1, entities: ['token'] })).tokens.find((t) => t.id === created.id)!;
    expect(verifier.secretHash).toBe(hashClientSecret(HASH_KEY, rotated.clientSecret!));
    expect(verifier.previousSecretHash).toBe(hashClientSecret(HASH_KEY, created.clientSecret));
    await expectEventually(() => expect(events.some((e) => e.subject === 'tokens.v1.rotated' && (e.data as TokenChanged).token.id === created.id)).toBe(true));

    const same = await rpc.request(UpdateServiceToken, { accountId, tokenId: created.id, clientSecretVersion: 3, name: 'renamed-put', actor });
    expect(same).not.toHaveProperty('clientSecret');
    expect(same).toMatchObject({ clientSecretVersion: 3, name: 'renamed-put', previousClientSecretExpiresAt: grace });
    const after = (await pullAll(rpc, { since: -1, entities: ['token'] })).tokens.find((t) => t.id === created.id)!;
    expect(after.secretHash).toBe(verifier.secretHash);

    await expect(rpc.request(UpdateServiceToken, { accountId, tokenId: created.id, clientSecretVersion: 2, name: 'lower', actor })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/client_secret_version/),
    });
    await expect(rpc.request(GetServiceToken, { accountId, tokenId: created.id })).resolves.toMatchObject({ name: 'renamed-put', clientSecretVersion: 3 });
    // Without a grace period the previous secret dies at once, as with rotate.
    const noGrace = await rpc.request(UpdateServiceToken, { accountId, tokenId: created.id, clientSecretVersion: 4, actor });
    expect(noGrace).toMatchObject({ clientSecretVersion: 4, previousClientSecretExpiresAt: null });
  });

  it('keeps accounts apart', async () => {
    const other = randomUUID();
    await expect(rpc.request(CreateServiceToken, { accountId: other, name: 'x', actor })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const mine = await rpc.request(CreateServiceToken, { accountId, name: 'mine', actor });
    await expect(rpc.request(GetServiceToken, { accountId: other, tokenId: mine.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('rejects invalid payloads on the server side with VALIDATION_FAILED naming the field', async () => {
    const raw = await connect({ servers: nats.url });
    try {
      const reply = await raw.request(
        'tokens.v1.create',
        JSON.stringify({ pattern: 'tokens.v1.create', id: randomUUID(), data: { accountId, name: '', duration: '-5h', actor, extra: 1 } }),
        { timeout: 2000 },
      );
      const body = JSON.parse(reply.string());
      expect(body.err.code).toBe('VALIDATION_FAILED');
      const paths = body.err.details.map((d: { path: string }) => d.path);
      expect(paths).toEqual(expect.arrayContaining(['name', 'duration']));
    } finally {
      await raw.close();
    }
  });

  it('lists with name filter, search and paging', async () => {
    const tag = randomUUID().slice(0, 8);
    for (let i = 0; i < 5; i++) await rpc.request(CreateServiceToken, { accountId, name: `page-${tag}-${i}`, actor });
    const page = await rpc.request(ListServiceTokens, { accountId, search: tag, page: 2, perPage: 2 });
    expect(page.totalCount).toBe(5);
    expect(page.items).toHaveLength(2);
    const exact = await rpc.request(ListServiceTokens, { accountId, name: `page-${tag}-3` });
    expect(exact.items.map((t) => t.name)).toEqual([`page-${tag}-3`]);
    const none = await rpc.request(ListServiceTokens, { accountId, search: '%_' });
    expect(none.totalCount).toBe(0);
  });

  it('records last_seen_at from batched sightings', async () => {
    const t = await rpc.request(CreateServiceToken, { accountId, name: 'seen', actor });
    const at = new Date().toISOString();
    await rpc.publish(TokensSeen, { seen: [{ tokenId: t.id, at }] });
    await expectEventually(async () => {
      const got = await rpc.request(GetServiceToken, { accountId, tokenId: t.id });
      expect(got.lastSeenAt).toBe(at);
    });
  });
});
