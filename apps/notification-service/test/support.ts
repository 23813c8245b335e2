import 'reflect-metadata';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  DomainError,
  GetAccount,
  TokenEventByKind,
  ReplicaChangesCompact,
  tokenRowOf,
  TokenRows,
  ReplicaHead,
  type ChangeRecord,
  type Account,
  type RequestOf,
  type TokenChangeKind,
  type TokenRow,
  type VerifierToken,
} from '@gatehouse/contracts';
import { ContractPipe, RpcErrorFilter, connectRpc, natsOptions, type Clock } from '@gatehouse/nest-kit';
import { freePort } from '@gatehouse/testing';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A real SMTP server (smtp-server) that parses what it accepts with mailparser. */
export class SmtpSink {
  readonly messages: ParsedMail[] = [];
  private server: SMTPServer | undefined;
  port = 0;

  constructor(private readonly auth?: { user: string; pass: string }) {}

  async start(port?: number): Promise<this> {
    this.port = port ?? (this.port || (await freePort()));
    const server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      authOptional: !this.auth,
      allowInsecureAuth: true,
      logger: false,
      onAuth: (auth, _session, cb) => {
        if (this.auth && auth.username === this.auth.user && auth.password === this.auth.pass) return cb(null, { user: auth.username });
        cb(new Error('Invalid username or password'));
      },
      onData: (stream, _session, cb) => {
        simpleParser(stream).then(
          (mail) => {
            this.messages.push(mail);
            cb();
          },
          (e: Error) => cb(e),
        );
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return this;
  }

  /** Closes the listener and every open connection (as an SMTP outage would). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const s = server as unknown as { connections?: Set<{ close(): void }>; server: Server };
    for (const c of s.connections ?? []) c.close();
    s.server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  to(address: string): ParsedMail[] {
    return this.messages.filter((m) => (Array.isArray(m.to) ? m.to : [m.to]).some((t) => t?.value.some((v) => v.address === address)));
  }

  forToken(tokenId: string): ParsedMail[] {
    return this.messages.filter((m) => m.headers.get('x-gatehouse-token-id') === tokenId);
  }
}

export interface ReceivedHook {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP server that records webhook requests and answers with `status`. */
export async function startWebhookReceiver(): Promise<{ url: string; received: ReceivedHook[]; status: number; close(): Promise<void> }> {
  const state = { received: [] as ReceivedHook[], status: 204 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = state.status;
      res.end();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/hooks/gatehouse`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/**
 * The token service's side of the NATS contracts, played by the test: it answers
 * `accounts.v1.get`, `replica.v3.changes` and `replica.v2.head` and publishes `tokens.v1.*` events, exactly as the
 * contracts define them (validated both ways), over the real nats-server.
 */
export class TokenServicePeer {
  readonly accounts = new Map<string, Account>();
  readonly tokens = new Map<string, VerifierToken>();
  /** The revision that last wrote each token, and deleted tokens' tombstones. */
  readonly revisions = new Map<string, number>();
  readonly tombstones = new Map<string, number>();
  revision = 0;
  private app: INestMicroservice | undefined;
  private rpc: Awaited<ReturnType<typeof connectRpc>> | undefined;

  constructor(
    private readonly natsUrl: string,
    private readonly clock: Clock,
  ) {}

  async start(): Promise<this> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- Nest instantiates the handler class below; it reaches this peer through the closure
    const peer = this;
    @Controller()
    class PeerHandler {
      @MessagePattern(GetAccount.subject)
      get(@Payload(new ContractPipe(GetAccount.request)) req: RequestOf<typeof GetAccount>) {
        const account = peer.accounts.get(req.accountId);
        if (!account) throw new DomainError('NOT_FOUND', `Account ${req.accountId} not found`);
        return account;
      }

      @MessagePattern(ReplicaChangesCompact.subject)
      changes(@Payload(new ContractPipe(ReplicaChangesCompact.request)) req: RequestOf<typeof ReplicaChangesCompact>) {
        // One page of everything after `since`, in revision order (the peer's fleet is small):
        // tokens as replica.v3 rows, deletions as tombstone records.
        const rows: TokenRow[] = [...peer.tokens.values()].map((t) => tokenRowOf(t, peer.revisions.get(t.id)!)).filter((r) => r[0] > req.since);
        const tombstones: ChangeRecord[] = [...peer.tombstones].map(([id, revision]) => ({
          type: 'tombstone' as const,
          entity: 'token' as const,
          id,
          revision,
        }));
        return ReplicaChangesCompact.response.parse({
          head: peer.revision,
          floor: 0,
          records: tombstones.filter((r) => r.revision > req.since).sort((a, b) => a.revision - b.revision),
          tokens: TokenRows.encode(rows),
          next: null,
        });
      }

      @MessagePattern(ReplicaHead.subject)
      head() {
        return { head: peer.revision };
      }
    }
    @Module({ controllers: [PeerHandler] })
    class PeerModule {}
    this.app = await NestFactory.createMicroservice(PeerModule, { ...natsOptions(this.natsUrl, 'token-service-peer', 'token-service'), logger: ['error'] });
    this.app.useGlobalFilters(new RpcErrorFilter());
    await this.app.listen();
    this.rpc = await connectRpc(this.natsUrl, 'token-service-peer-publisher');
    return this;
  }

  async stop(): Promise<void> {
    await this.rpc?.close();
    await this.app?.close();
  }

  addAccount(name: string): Account {
    const account = { id: crypto.randomUUID(), name, createdAt: this.clock.now().toISOString() };
    this.accounts.set(account.id, account);
    return account;
  }

  /** Creates a token; `expiresInMs` null means forever. `announce: false` simulates a lost event. */
  async create(accountId: string, name: string, expiresInMs: number | null, { announce = true } = {}): Promise<VerifierToken> {
    const now = this.clock.now();
    const token: VerifierToken = {
      id: crypto.randomUUID(),
      accountId,
      name,
      clientId: `${crypto.randomUUID().replace(/-/g, '')}.access`,
      duration: expiresInMs === null ? 'forever' : `${Math.round(expiresInMs / 1000)}s`,
      enabled: true,
      expiresAt: expiresInMs === null ? null : new Date(now.getTime() + expiresInMs).toISOString(),
      secretHash: 'a'.repeat(64),
      clientSecretVersion: 1,
      previousSecretHash: null,
      previousClientSecretExpiresAt: null,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    this.tokens.set(token.id, token);
    const revision = ++this.revision;
    this.revisions.set(token.id, revision);
    if (announce) await this.publish('created', token, revision);
    return token;
  }

  async change(kind: Exclude<TokenChangeKind, 'created'>, tokenId: string, edit: (t: VerifierToken) => void = () => undefined): Promise<VerifierToken> {
    const token = { ...this.tokens.get(tokenId)! };
    edit(token);
    token.updatedAt = this.clock.now().toISOString();
    const revision = ++this.revision;
    if (kind === 'deleted') {
      this.tokens.delete(tokenId);
      this.revisions.delete(tokenId);
      this.tombstones.set(tokenId, revision);
    } else {
      this.tokens.set(tokenId, token);
      this.revisions.set(tokenId, revision);
    }
    await this.publish(kind, token, revision);
    return token;
  }

  /** Publishes an event again (duplicates happen: at-least-once paths, replays). */
  async publish(kind: TokenChangeKind, token: VerifierToken, revision: number): Promise<void> {
    await this.rpc!.publish(TokenEventByKind[kind], {
      kind,
      revision,
      occurredAt: this.clock.now().toISOString(),
      actor: { type: 'admin', id: 'int-test' },
      token,
    });
  }
}

/** A clock tests can advance: real time plus an adjustable offset. */
export class OffsetClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
