import { randomUUID } from 'node:crypto';
import type { INestMicroservice } from '@nestjs/common';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { ACCESS_LOG_STREAM, AccessDecisionsRecorded, CreateAccount, ListAuditEvents, ensureAccessLogStream, type PayloadInputOf } from '@gatehouse/contracts';
import { connectRpc } from '@gatehouse/nest-kit';
import { createTestDatabase, expectEventually, startNats, type TestDatabase, type TestNats } from '@gatehouse/testing';
import { auditRowId } from '../src/audit/access-log.consumer.js';
import { startTokenService } from '../src/bootstrap.js';
import { migrate } from '../src/database/data-source.js';
import { HASH_KEY } from './support.js';

/**
 * The gateway's access decisions travel through a JetStream stream: what is published while the
 * token service is down, or while its database is unreachable, is appended later, and exactly once.
 * Real nats-server (JetStream), real PostgreSQL.
 */
describe('access log over JetStream', () => {
  let nats: TestNats;
  let db: TestDatabase;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let app: INestMicroservice | null = null;
  const start = async () => {
    app = await startTokenService({
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      GATEHOUSE_HASH_KEY: HASH_KEY,
      GATEHOUSE_NATS_QUEUE: 'token-service',
      GATEHOUSE_TOMBSTONE_RETENTION: 7 * 24 * 3_600_000,
      GATEHOUSE_LOG_LEVEL: 'error',
      GATEHOUSE_MANAGEMENT_HOST: '127.0.0.1',
      GATEHOUSE_TOKEN_SERVICE_MANAGEMENT_PORT: 0,
    });
  };
  const stop = async () => {
    await app?.close();
    app = null;
  };

  beforeAll(async () => {
    nats = await startNats();
    db = await createTestDatabase(async (url) => void (await migrate(url)));
    nc = await connect({ servers: nats.url });
    js = jetstream(nc);
  });
  afterAll(async () => {
    await stop();
    await nc?.close();
    await db?.drop();
    await nats?.stop();
  });

  const batch = (accountId: string, n: number): PayloadInputOf<typeof AccessDecisionsRecorded> => ({
    batchId: randomUUID(),
    decisions: Array.from({ length: n }, (_, i) => ({
      accountId,
      occurredAt: new Date(Date.now() - i).toISOString(),
      appId: randomUUID(),
      appName: 'app',
      tokenId: null,
      tokenName: null,
      clientId: `c${i}.access`,
      decision: 'allow',
      reason: 'policy',
      sourceIp: '127.0.0.1',
      via: 'service_token',
    })),
  });
  const publish = (b: PayloadInputOf<typeof AccessDecisionsRecorded>, msgID: string) =>
    js.publish(AccessDecisionsRecorded.subject, JSON.stringify({ pattern: AccessDecisionsRecorded.subject, data: b }), { msgID });
  const sql = async (text: string) => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  };
  const newAccount = async () => {
    const rpc = await connectRpc(nats.url, 'access-log-test');
    try {
      return (await rpc.request(CreateAccount, { name: `access-log-${randomUUID()}` })).id;
    } finally {
      await rpc.close();
    }
  };
  const count = async (accountId: string) => {
    const rpc = await connectRpc(nats.url, 'access-log-test');
    try {
      return (await rpc.request(ListAuditEvents, { accountId, perPage: 1 })).totalCount;
    } finally {
      await rpc.close();
    }
  };

  it('appends what was published while the token service was down, once, even when a batch arrives twice', async () => {
    // The gateway creates the stream at its start, before any token service exists.
    await ensureAccessLogStream((await jetstreamManager(nc)).streams);
    // Accounts live in the token service's tables: create one with the service up, then stop it.
    await start();
    const accountId = await newAccount();
    await stop();
    const first = batch(accountId, 1200); // more than one INSERT chunk
    await publish(first, first.batchId!);
    // The same batch again under another message id (a re-publish after a lost acknowledgement,
    // outside the stream's duplicate window): its rows must not be written twice.
    await publish(first, randomUUID());

    await start();
    await expectEventually(async () => expect(await count(accountId)).toBe(1200), { timeoutMs: 15_000 });
    await expectEventually(async () => {
      const c = await (await jetstreamManager(nc)).consumers.info(ACCESS_LOG_STREAM.name, ACCESS_LOG_STREAM.consumer);
      expect([c.num_pending, c.num_ack_pending]).toEqual([0, 0]);
    });
    expect(await count(accountId)).toBe(1200);

    // Down again: published meanwhile, appended after the restart.
    await stop();
    const second = batch(accountId, 3);
    await publish(second, second.batchId!);
    await start();
    await expectEventually(async () => expect(await count(accountId)).toBe(1203), { timeoutMs: 15_000 });
  });

  it('retries a batch while PostgreSQL refuses it, and appends it once the database is back', async () => {
    if (!app) await start();
    const accountId = await newAccount();
    // Make inserts fail: the audit table is renamed away (as an unreachable database would fail them).
    await sql('ALTER TABLE "audit_events" RENAME TO "audit_events_away"');
    const b = batch(accountId, 5);
    try {
      await publish(b, b.batchId!);
      // Redelivered, never acknowledged while the table is away.
      await expectEventually(
        async () => {
          const c = await (await jetstreamManager(nc)).consumers.info(ACCESS_LOG_STREAM.name, ACCESS_LOG_STREAM.consumer);
          expect(c.num_redelivered).toBeGreaterThan(0);
        },
        { timeoutMs: 15_000 },
      );
    } finally {
      await sql('ALTER TABLE "audit_events_away" RENAME TO "audit_events"');
    }
    await expectEventually(async () => expect(await count(accountId)).toBe(5), { timeoutMs: 15_000 });
  });

  it('keeps draining after NATS itself is killed and restarted', async () => {
    if (!app) await start();
    const accountId = await newAccount();
    await nats.pause(); // SIGKILL: the service's connections drop mid-pull
    await nats.resume();
    // The publisher's connection reconnects on its own; published as soon as it is back.
    const b = batch(accountId, 4);
    await expectEventually(() => publish(b, b.batchId!), { timeoutMs: 10_000, intervalMs: 100 });
    // The library alone retried its lookup of the consumer after a failed one only every 30 s.
    await expectEventually(async () => expect(await count(accountId)).toBe(4), { timeoutMs: 12_000, intervalMs: 200 });
  });

  it('reads again within seconds when its consumer is replaced under it (the pull it had waiting is gone)', async () => {
    if (!app) await start();
    const accountId = await newAccount();
    const jsm = await jetstreamManager(nc);
    const { config } = await jsm.consumers.info(ACCESS_LOG_STREAM.name, ACCESS_LOG_STREAM.consumer);
    await jsm.consumers.delete(ACCESS_LOG_STREAM.name, ACCESS_LOG_STREAM.consumer);
    await jsm.consumers.add(ACCESS_LOG_STREAM.name, config);
    const b = batch(accountId, 3);
    await publish(b, b.batchId!);
    // The library waits for two missed heartbeats before it pulls again: 30 s with its default
    // pull expiry, which left a failover's decisions in the stream for that long.
    await expectEventually(async () => expect(await count(accountId)).toBe(3), { timeoutMs: 12_000, intervalMs: 250 });
  });

  it('creates the consumer again when it is deleted under the running service, and drains what waits', async () => {
    if (!app) await start();
    const accountId = await newAccount();
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete(ACCESS_LOG_STREAM.name, ACCESS_LOG_STREAM.consumer);
    const b = batch(accountId, 2);
    await publish(b, b.batchId!);
    await expectEventually(async () => expect(await count(accountId)).toBe(2), { timeoutMs: 25_000, intervalMs: 250 });
    const c = await jsm.consumers.info(ACCESS_LOG_STREAM.name, ACCESS_LOG_STREAM.consumer);
    expect(c.config.durable_name).toBe(ACCESS_LOG_STREAM.consumer);
  });

  it('derives stable, distinct row ids from the batch', () => {
    const id = auditRowId('b', 0);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(auditRowId('b', 0)).toBe(id);
    expect(auditRowId('b', 1)).not.toBe(id);
    expect(auditRowId('c', 0)).not.toBe(id);
  });
});
