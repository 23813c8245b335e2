import http from 'node:http';
import net from 'node:net';
import pg from 'pg';
import { RotateSigningKeys, generateClientSecret, hashClientSecret } from '@gatehouse/contracts';
import { connectRpc } from '@gatehouse/nest-kit';
import { createTestDatabase, expectEventually, freePort } from '@gatehouse/testing';
import { startGateway, type RunningGateway } from '../src/bootstrap.js';
import { ROTATION_LOCK } from '../src/keys/key-ring.js';
import { appOf, policyOf, tokenOf } from '../src/replica/replica.fixture.js';
import { HASH_KEY, httpGet, silentLog, startGatewayHarness, type GatewayHarness } from './gateway-harness.js';

/** A deployment's first start: its first signing key is made while the replica loads. */
describe('auth-service start (real PostgreSQL, nats-server)', () => {
  let h: GatewayHarness;
  let upstream: http.Server;
  const secret = generateClientSecret();
  const token = tokenOf({ secretHash: hashClientSecret(HASH_KEY, secret), name: 'start-token' });
  const creds = { 'cf-access-client-id': token.clientId, 'cf-access-client-secret': secret };

  beforeAll(async () => {
    upstream = http.createServer((_req, res) => res.end('upstream'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const app = appOf({ upstream: `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}` });
    const state = { revision: 3, tokens: [token], apps: [app], policies: [policyOf(app.id, { include: [{ serviceToken: { tokenId: token.id } }] })] };
    h = await startGatewayHarness(() => state, { env: { GATEHOUSE_LOG_LEVEL: 'warn' } });
  });

  afterAll(async () => {
    await h?.stop();
    upstream?.close();
  });

  it('answers 503 signing_keys_loading (the JWKS too, never an empty key set) while its first key cannot be stored, then admits', async () => {
    const [port, management] = [await freePort(), await freePort()];
    // The test holds the key ring's advisory lock: the gateway's first key is made but cannot be
    // stored, while its replica loads from the stand-in feed at once.
    const holder = new pg.Client({ connectionString: h.db.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock($1)', [ROTATION_LOCK]);
    let gw: RunningGateway | undefined;
    let settled = false;
    const starting = startGateway(h.env({ GATEHOUSE_GATEWAY_PORT: String(port), GATEHOUSE_GATEWAY_MANAGEMENT_PORT: String(management) }), silentLog).finally(
      () => (settled = true),
    );
    try {
      const base = `http://127.0.0.1:${port}`;
      const mgmt = `http://127.0.0.1:${management}`;
      // Loaded replica, no key yet: the reason says which.
      await expectEventually(async () => expect((await httpGet(base, '/', creds, 'app.example.com')).body).toContain('signing_keys_loading'), {
        timeoutMs: 10_000,
      });
      const proxied = await httpGet(base, '/', creds, 'app.example.com');
      expect([proxied.status, JSON.parse(proxied.body)]).toEqual([503, { error: 'unavailable', reason: 'signing_keys_loading' }]);
      const authorize = await httpGet(base, '/cdn-cgi/access/authorize', { ...creds, 'x-forwarded-host': 'app.example.com' }, 'gateway.test');
      expect([authorize.status, JSON.parse(authorize.body).reason]).toEqual([503, 'signing_keys_loading']);
      const certs = await httpGet(base, '/cdn-cgi/access/certs', {}, 'gateway.test');
      expect([certs.status, JSON.parse(certs.body).reason, certs.headers['cache-control']]).toEqual([503, 'signing_keys_loading', 'no-store']);
      expect(JSON.parse((await httpGet(base, '/cdn-cgi/access/health', {}, 'gateway.test')).body).status).toBe('loading');
      const ready = await httpGet(mgmt, '/readyz', {}, 'localhost');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body).checks).toMatchObject({ replica: 'up', signing_keys: expect.stringContaining('signing keys not loaded yet') });
      expect(settled).toBe(false);

      await holder.query('COMMIT');
      gw = await starting;
      const admitted = await httpGet(base, '/', creds, 'app.example.com');
      expect([admitted.status, admitted.body]).toEqual([200, 'upstream']);
      const published = JSON.parse((await httpGet(base, '/cdn-cgi/access/certs', {}, 'gateway.test')).body);
      expect(published.keys).toHaveLength(1);
      expect((await httpGet(mgmt, '/readyz', {}, 'localhost')).status).toBe(200);
    } finally {
      await holder.end().catch(() => undefined);
      gw ??= await starting.catch(() => undefined);
      await gw?.stop();
    }
  });

  it('answers no keys.v1 request before its keys are loaded: one that cannot open them never stores a key the others could not open', async () => {
    // The deployment's first key, made by a healthy start.
    await (await startGateway(h.env(), silentLog)).stop();
    // A gateway with the wrong key-encryption key; its first query of the keys waits for this lock.
    const holder = new pg.Client({ connectionString: h.db.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE signing_keys IN ACCESS EXCLUSIVE MODE');
    const port = await freePort();
    const wrong = startGateway(h.env({ GATEHOUSE_GATEWAY_PORT: String(port), GATEHOUSE_KEY_ENCRYPTION_KEY: 'w'.repeat(40) }), silentLog);
    wrong.catch(() => undefined);
    const rpc = await connectRpc(h.nats.url, 'start-spec', 3_000);
    try {
      // Listening, in the keys queue group, keys not loaded.
      await expectEventually(
        async () => expect((await httpGet(`http://127.0.0.1:${port}`, '/', creds, 'app.example.com')).body).toContain('signing_keys_loading'),
        {
          timeoutMs: 10_000,
        },
      );
      // An admin's "rotate now" reaches the only member of the group: the loading gateway.
      const rotating = rpc.request(RotateSigningKeys, { actor: { type: 'admin', id: 'start-spec' } });
      rotating.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
      await holder.query('COMMIT');
      await expect(wrong).rejects.toThrow('cannot load signing keys');
      // Refused (UNAVAILABLE), or unanswered when the refusal loses the race with the gateway's
      // own close: never done.
      await expect(rotating).rejects.toThrow(/could not load the signing keys|No answer on keys.v1.rotate/);
    } finally {
      await holder.end().catch(() => undefined);
      await rpc.close();
    }
    const db = new pg.Client({ connectionString: h.db.url });
    await db.connect();
    const keys = (await db.query('SELECT kid FROM signing_keys')).rows;
    await db.end();
    expect(keys).toHaveLength(1);
    // A healthy gateway still starts.
    await (await startGateway(h.env(), silentLog)).stop();
  });

  it('makes no key at start with stored keys it cannot open, even when a rotation is due', async () => {
    const db = new pg.Client({ connectionString: h.db.url });
    await db.connect();
    const fresh = async () =>
      (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM signing_keys WHERE created_at > now() - interval '1 hour'`)).rows[0]!.n;
    try {
      // Every stored key as if made long ago: a rotation is due.
      await db.query(`UPDATE signing_keys SET activates_at = activates_at - interval '1000 days', created_at = created_at - interval '1000 days'`);
      expect(await fresh()).toBe(0);
      await expect(startGateway(h.env({ GATEHOUSE_KEY_ENCRYPTION_KEY: 'w'.repeat(40) }), silentLog)).rejects.toThrow('cannot load signing keys');
      expect(await fresh()).toBe(0);
      // A gateway that opens them rotates as due.
      await (await startGateway(h.env(), silentLog)).stop();
      expect(await fresh()).toBe(1);
    } finally {
      await db.end();
    }
  });

  it('stops, closed, with the reason, when its signing keys cannot be loaded (no migration ran)', async () => {
    const bare = await createTestDatabase(); // no signing_keys table
    const port = await freePort();
    try {
      await expect(startGateway(h.env({ DATABASE_URL: bare.url, GATEHOUSE_GATEWAY_PORT: String(port) }), silentLog)).rejects.toThrow(
        'auth-service: cannot load signing keys (did the migration run?)',
      );
      const refused = await new Promise<string>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => resolve('connected'));
        socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');
    } finally {
      await bare.drop();
    }
  });
});
