import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type pg from 'pg';
import { decryptPrivateKey, encryptPrivateKey } from './key-crypto.js';
import { selfSignedCertificate } from './x509.js';

const ROTATION_LOCK = 0x6761_7466;

export interface SigningKey {
  kid: string;
  activatesAt: number;
  publicKey: KeyObject;
  certificatePem: string;
  privateKey?: KeyObject;
}

interface Row {
  kid: string;
  public_key_pem: string;
  certificate_pem: string;
  private_key_sealed: string;
  activates_at: Date;
}

/**
 * The JWT signing keys, shared by every gateway replica through the `signing_keys` table.
 *
 * Rotation: a new key is written `lead` before it starts signing (every replica reloads at least
 * every `lead / 4`, so all of them publish and accept it before any of them signs with it). The
 * previous key stays published for one more rotation interval, then is deleted. A transaction-
 * scoped advisory lock makes sure only one replica creates the next key.
 */
export class KeyRing {
  private keys: SigningKey[] = []; // newest activation first
  private certsBody = '{}';
  private timer?: NodeJS.Timeout;
  readonly leadMs: number;
  readonly refreshMs: number;

  /** The rotation interval in force: the API's setting (signing_key_settings) or the environment's. */
  private rotationMs: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly encryptionKey: Buffer,
    private readonly defaultRotationMs: number,
    private readonly issuer: string,
    private readonly now: () => number = Date.now,
  ) {
    this.rotationMs = defaultRotationMs;
    this.leadMs = Math.min(120_000, Math.floor(defaultRotationMs / 4));
    this.refreshMs = Math.max(250, Math.min(30_000, Math.floor(this.leadMs / 4)));
  }

  async init(): Promise<void> {
    await this.rotateIfDue();
    await this.load();
  }

  start(onError: (e: Error) => void): void {
    this.timer = setInterval(() => {
      this.rotateIfDue()
        .then(() => this.load())
        .catch(onError);
    }, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The key that signs now: the newest one whose activation time has come. */
  signingKey(): SigningKey & { privateKey: KeyObject } {
    const now = this.now();
    const key = this.keys.find((k) => k.activatesAt <= now && k.privateKey) ?? this.keys.find((k) => k.privateKey);
    if (!key?.privateKey) throw new Error('No signing key loaded');
    return key as SigningKey & { privateKey: KeyObject };
  }

  publicKey(kid: string): KeyObject | undefined {
    return this.keys.find((k) => k.kid === kid)?.publicKey;
  }

  kids(): string[] {
    return this.keys.map((k) => k.kid);
  }

  /** The body of GET /cdn-cgi/access/certs (precomputed at each reload). */
  certs(): string {
    return this.certsBody;
  }

  async rotateIfDue(): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [ROTATION_LOCK]);
      await this.readRotationInterval(client);
      const rows = (await client.query<{ kid: string; activates_at: Date }>('SELECT kid, activates_at FROM signing_keys ORDER BY activates_at DESC')).rows;
      const now = this.now();
      let created = false;
      const newest = rows[0];
      if (!newest) {
        await this.insert(client, now);
        created = true;
      } else if (newest.activates_at.getTime() + this.rotationMs - this.leadMs <= now) {
        await this.insert(client, Math.max(now + this.leadMs, newest.activates_at.getTime() + this.rotationMs));
        created = true;
      }
      // Keep the pending key(s), the current one and the one before it; older keys are retired.
      const current = rows.findIndex((r) => r.activates_at.getTime() <= now);
      if (current >= 0) {
        const retired = rows.slice(current + 2).map((r) => r.kid);
        if (retired.length) await client.query('DELETE FROM signing_keys WHERE kid = ANY($1)', [retired]);
      }
      await client.query('COMMIT');
      return created;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async load(): Promise<void> {
    const rows = (await this.pool.query<Row>('SELECT kid, public_key_pem, certificate_pem, private_key_sealed, activates_at FROM signing_keys ORDER BY activates_at DESC')).rows;
    const known = new Map(this.keys.map((k) => [k.kid, k]));
    this.keys = rows.map((r) => {
      const had = known.get(r.kid);
      if (had) return had;
      const pkcs8 = decryptPrivateKey(this.encryptionKey, r.kid, r.private_key_sealed);
      return {
        kid: r.kid,
        activatesAt: r.activates_at.getTime(),
        publicKey: createPublicKey(r.public_key_pem),
        certificatePem: r.certificate_pem,
        privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
      };
    });
    if (!this.keys.length) throw new Error('No signing keys in the database');
    const current = this.signingKey();
    this.certsBody = JSON.stringify({
      keys: this.keys.map((k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, alg: 'RS256', use: 'sig' })),
      public_cert: { kid: current.kid, cert: current.certificatePem },
      public_certs: this.keys.map((k) => ({ kid: k.kid, cert: k.certificatePem })),
    });
  }

  /**
   * "Rotate now": a new key, published at once (this replica reloads here, the others within
   * `refreshMs`), that signs from `now + leadMs` — once every replica has loaded it. The current
   * key keeps signing until then and stays published for the overlap (one more rotation). The
   * next scheduled rotation counts from the new key's activation.
   */
  async rotateNow(): Promise<void> {
    await this.locked(async (client) => {
      await this.readRotationInterval(client);
      await this.insert(client, this.now() + this.leadMs);
    });
    await this.load();
  }

  /** Sets the rotation interval for every replica (they read it at each refresh). */
  async setRotationInterval(ms: number): Promise<void> {
    await this.locked(async (client) => {
      await client.query(
        `INSERT INTO signing_key_settings (id, rotation_interval_ms, updated_at) VALUES (1, $1, now())
         ON CONFLICT (id) DO UPDATE SET rotation_interval_ms = EXCLUDED.rotation_interval_ms, updated_at = now()`,
        [ms],
      );
      this.rotationMs = ms;
    });
    await this.rotateIfDue();
    await this.load();
  }

  /** What access/keys reports: the interval in force and each key with its creation and activation. */
  async status(): Promise<{ rotationMs: number; leadMs: number; now: number; keys: Array<{ kid: string; createdAt: number; activatesAt: number }> }> {
    const client = await this.pool.connect();
    try {
      await this.readRotationInterval(client);
      const rows = (await client.query<{ kid: string; created_at: Date; activates_at: Date }>('SELECT kid, created_at, activates_at FROM signing_keys ORDER BY activates_at DESC')).rows;
      return { rotationMs: this.rotationMs, leadMs: this.leadMs, now: this.now(), keys: rows.map((r) => ({ kid: r.kid, createdAt: r.created_at.getTime(), activatesAt: r.activates_at.getTime() })) };
    } finally {
      client.release();
    }
  }

  private async readRotationInterval(client: pg.PoolClient): Promise<void> {
    const row = (await client.query<{ ms: string }>('SELECT rotation_interval_ms AS ms FROM signing_key_settings WHERE id = 1')).rows[0];
    this.rotationMs = row ? Number(row.ms) : this.defaultRotationMs;
  }

  /** One transaction under the rotation lock (the same lock rotateIfDue takes). */
  private async locked(fn: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [ROTATION_LOCK]);
      await fn(client);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async insert(client: pg.PoolClient, activatesAt: number): Promise<void> {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = randomBytes(16).toString('hex');
    const from = new Date(activatesAt - 60_000);
    const until = new Date(activatesAt + 3 * this.rotationMs + 365 * 86_400_000);
    const cert = selfSignedCertificate(privateKey, publicKey, new URL(this.issuer).hostname || 'gatehouse', from, until);
    const sealed = encryptPrivateKey(this.encryptionKey, kid, privateKey.export({ type: 'pkcs8', format: 'der' }));
    await client.query(
      'INSERT INTO signing_keys (kid, public_key_pem, certificate_pem, private_key_sealed, activates_at) VALUES ($1, $2, $3, $4, $5)',
      [kid, publicKey.export({ type: 'spki', format: 'pem' }), cert, sealed, new Date(activatesAt)],
    );
  }
}
