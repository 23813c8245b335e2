import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type pg from 'pg';
import { decryptPrivateKey, encryptPrivateKey } from './key-crypto.js';
import { certificateInChild } from './x509.js';

/** The advisory lock under which keys are created and retired (every replica takes it). */
export const ROTATION_LOCK = 0x6761_7466;

export interface SigningKey {
  kid: string;
  activatesAt: number;
  publicKey: KeyObject;
  certificatePem: string;
  privateKey?: KeyObject;
}

/** A key pair made ready to store: the private key sealed (./key-crypto.ts), its certificate. */
export interface NewSigningKey {
  kid: string;
  publicKeyPem: string;
  certificatePem: string;
  privateKeySealed: string;
}

/** Makes a key that activates at `activatesAt`; asynchronous, never on the caller's thread. */
export type KeyGenerator = (activatesAt: number) => Promise<NewSigningKey>;

const generateRsa = promisify(generateKeyPair);

/**
 * A new RSA-2048 signing key. The key pair is generated on libuv's thread pool
 * (`generateKeyPair`), not on the event loop: RSA generation takes tens to hundreds of
 * milliseconds, which `generateKeyPairSync` would take from every request in flight.
 */
export async function generateSigningKey(
  encryptionKey: Buffer,
  issuer: string,
  rotationMs: number,
  activatesAt: number,
  modulusLength = 2048,
): Promise<NewSigningKey> {
  const { publicKey, privateKey } = await generateRsa('rsa', { modulusLength });
  const kid = randomBytes(16).toString('hex');
  const from = new Date(activatesAt - 60_000);
  const until = new Date(activatesAt + 3 * rotationMs + 365 * 86_400_000);
  return {
    kid,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    certificatePem: await certificateInChild(privateKey, publicKey, new URL(issuer).hostname || 'gatehouse', from, until),
    privateKeySealed: encryptPrivateKey(encryptionKey, kid, privateKey.export({ type: 'pkcs8', format: 'der' })),
  };
}

/**
 * The signing key of a stored row. The public key is derived from the sealed private key, never
 * taken from the row's own public key or certificate: those are only checked against it, so a
 * row whose public half was changed (a database write without the key-encryption key) cannot
 * publish a key the gateway does not sign with, nor one an attacker signs with.
 */
export function keyOfRow(encryptionKey: Buffer, r: SigningKeyRow): SigningKey & { privateKey: KeyObject } {
  const pkcs8 = decryptPrivateKey(encryptionKey, r.kid, r.private_key_sealed);
  const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const stored = createPublicKey(r.public_key_pem).export({ type: 'spki', format: 'der' });
  if (!stored.equals(spki)) throw new Error(`Signing key ${r.kid}: the stored public key does not match its private key`);
  const cert = new X509Certificate(r.certificate_pem);
  if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(spki) || !cert.verify(publicKey)) {
    throw new Error(`Signing key ${r.kid}: the stored certificate does not match its private key`);
  }
  return { kid: r.kid, activatesAt: r.activates_at.getTime(), publicKey, certificatePem: r.certificate_pem, privateKey };
}

async function insertKey(client: pg.PoolClient, key: NewSigningKey, activatesAt: number): Promise<void> {
  await client.query('INSERT INTO signing_keys (kid, public_key_pem, certificate_pem, private_key_sealed, activates_at) VALUES ($1, $2, $3, $4, $5)', [
    key.kid,
    key.publicKeyPem,
    key.certificatePem,
    key.privateKeySealed,
    new Date(activatesAt),
  ]);
}

export interface SigningKeyRow {
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
  private refreshing: Promise<void> | undefined;
  private stopped = false;
  /**
   * Settles once the ring's first load is done, rejected if it failed (the gateway's wiring sets
   * it when it starts `init()` in the background; a ring whose caller awaits `init()` is ready).
   */
  ready: Promise<void> = Promise.resolve();
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
    private readonly generate: KeyGenerator = (at) => generateSigningKey(encryptionKey, issuer, defaultRotationMs, at),
  ) {
    this.rotationMs = defaultRotationMs;
    this.leadMs = Math.min(120_000, Math.floor(defaultRotationMs / 4));
    this.refreshMs = Math.max(250, Math.min(30_000, Math.floor(this.leadMs / 4)));
  }

  async init(): Promise<void> {
    // The stored keys are opened first: a ring that cannot open them (a wrong
    // GATEHOUSE_KEY_ENCRYPTION_KEY) stops here, before a due rotation could store a key sealed
    // with its key, which no other ring could open.
    if ((await this.pool.query('SELECT 1 FROM signing_keys LIMIT 1')).rows.length) await this.load();
    await this.rotateIfDue();
    await this.load();
  }

  /** Whether keys are loaded: `signingKey()` and `certs()` answer (a first start makes its key first). */
  get loaded(): boolean {
    return this.keys.length > 0;
  }

  start(onError: (e: Error) => void): void {
    if (this.stopped) return; // stopped while its first load ran
    this.timer = setInterval(() => {
      // One refresh at a time: a key being made (its certificate in a child process, up to a
      // minute) is not made again by the next tick.
      if (this.refreshing) return;
      this.refreshing = this.rotateIfDue()
        .then(() => this.load())
        .catch(onError)
        .finally(() => (this.refreshing = undefined));
    }, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
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

  /**
   * Creates the next key when one is due, and retires old ones. The key is generated first,
   * asynchronously and outside any transaction (no connection or lock is held while it is made);
   * then, under the advisory lock, the decision is taken again on the current rows and the key is
   * inserted only if it is still due (another replica may have been first: the key is discarded).
   */
  async rotateIfDue(): Promise<boolean> {
    const before = await this.pool.query<{ kid: string; activates_at: Date }>('SELECT kid, activates_at FROM signing_keys ORDER BY activates_at DESC');
    const dueAt = this.nextActivation(before.rows);
    const fresh = dueAt === null ? null : await this.generate(dueAt);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [ROTATION_LOCK]);
      await this.readRotationInterval(client);
      const rows = (await client.query<{ kid: string; activates_at: Date }>('SELECT kid, activates_at FROM signing_keys ORDER BY activates_at DESC')).rows;
      const now = this.now();
      // Only a ring that has opened the stored keys adds one (or the first key of an empty table).
      const activatesAt = fresh && (rows.length === 0 || this.loaded) ? this.nextActivation(rows) : null;
      if (fresh && activatesAt !== null) {
        await insertKey(client, fresh, activatesAt);
      }
      // Keep the pending key(s), the current one and the one before it; older keys are retired.
      const current = rows.findIndex((r) => r.activates_at.getTime() <= now);
      if (current >= 0) {
        const retired = rows.slice(current + 2).map((r) => r.kid);
        if (retired.length) await client.query('DELETE FROM signing_keys WHERE kid = ANY($1)', [retired]);
      }
      await client.query('COMMIT');
      return activatesAt !== null;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** When the next key must activate, if one is due now (none yet, or the newest nears its end); else null. */
  private nextActivation(rows: Array<{ activates_at: Date }>): number | null {
    const now = this.now();
    const newest = rows[0];
    if (!newest) return now;
    if (newest.activates_at.getTime() + this.rotationMs - this.leadMs <= now)
      return Math.max(now + this.leadMs, newest.activates_at.getTime() + this.rotationMs);
    return null;
  }

  async load(): Promise<void> {
    const rows = (
      await this.pool.query<SigningKeyRow>(
        'SELECT kid, public_key_pem, certificate_pem, private_key_sealed, activates_at FROM signing_keys ORDER BY activates_at DESC',
      )
    ).rows;
    const known = new Map(this.keys.map((k) => [k.kid, k]));
    this.keys = rows.map((r) => known.get(r.kid) ?? keyOfRow(this.encryptionKey, r));
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
    if (!this.loaded) throw new Error('No signing keys loaded: only a ring that opened the stored keys makes one');
    const activatesAt = this.now() + this.leadMs;
    const fresh = await this.generate(activatesAt); // off the event loop, before any lock is held
    await this.locked(async (client) => {
      await this.readRotationInterval(client);
      await insertKey(client, fresh, activatesAt);
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
      const rows = (
        await client.query<{ kid: string; created_at: Date; activates_at: Date }>(
          'SELECT kid, created_at, activates_at FROM signing_keys ORDER BY activates_at DESC',
        )
      ).rows;
      return {
        rotationMs: this.rotationMs,
        leadMs: this.leadMs,
        now: this.now(),
        keys: rows.map((r) => ({ kid: r.kid, createdAt: r.created_at.getTime(), activatesAt: r.activates_at.getTime() })),
      };
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
}
