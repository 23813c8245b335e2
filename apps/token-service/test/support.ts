import type { INestMicroservice } from '@nestjs/common';
import {
  ListAccounts,
  ChangeSources,
  ReplicaChanges,
  ReplicaChangesCompact,
  decodeCompactPage,
  tokenRecordOf,
  type Application,
  type ChangesRequest,
  type ChangeRecord,
  type Organization,
  type Policy,
} from '@gatehouse/contracts';
import { connectRpc, encodeBinaryReply } from '@gatehouse/nest-kit';
import { createTestDatabase, startNats, type TestDatabase, type TestNats } from '@gatehouse/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startTokenService } from '../src/bootstrap.js';
import { migrate } from '../src/database/data-source.js';

export const HASH_KEY = 'k'.repeat(48);

export interface TokenServiceHarness {
  nats: TestNats;
  db: TestDatabase;
  app: INestMicroservice;
  rpc: Awaited<ReturnType<typeof connectRpc>>;
  /** Every message seen on the listened subjects, with its Nest payload (`data`). */
  events: Array<{ subject: string; data: unknown }>;
  defaultAccountId: string;
  stop(): Promise<void>;
}

/**
 * The token service in-process on its own migrated database (real PostgreSQL) and its own real
 * nats-server, an RPC client, and a listener recording the events on `subjects`.
 */
export async function startHarness(subjects: string[], clientName: string, natsOptions: { maxPayload?: number } = {}): Promise<TokenServiceHarness> {
  const nats = await startNats(natsOptions);
  const db = await createTestDatabase(async (url) => void (await migrate(url)));
  const app = await startTokenService({
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    GATEHOUSE_HASH_KEY: HASH_KEY,
    GATEHOUSE_NATS_QUEUE: 'token-service',
    GATEHOUSE_TOMBSTONE_RETENTION: 7 * 24 * 3_600_000,
    GATEHOUSE_LOG_LEVEL: 'warn',
    GATEHOUSE_MANAGEMENT_HOST: '127.0.0.1',
    GATEHOUSE_TOKEN_SERVICE_MANAGEMENT_PORT: 0,
  });
  const rpc = await connectRpc(nats.url, clientName);
  const listener: NatsConnection = await connect({ servers: nats.url });
  const events: TokenServiceHarness['events'] = [];
  for (const subject of subjects) {
    const sub = listener.subscribe(subject);
    void (async () => {
      for await (const m of sub) events.push({ subject: m.subject, data: JSON.parse(m.string()).data });
    })();
  }
  await listener.flush();
  const defaultAccountId = (await rpc.request(ListAccounts, {}))[0]!.id;
  return {
    nats,
    db,
    app,
    rpc,
    events,
    defaultAccountId,
    async stop() {
      await listener.close();
      await rpc.close();
      await app.close();
      await db.drop();
      await nats.stop();
    },
  };
}

/** The two versions of the change feed the token service serves (v2 for 0.2 replicas; v3 with token rows). */
export const FEEDS = ['v2', 'v3'] as const;
export type Feed = (typeof FEEDS)[number];
type FeedToken = ReturnType<typeof tokenRecordOf>['token'];
/** A page of either feed as v2 records (a v3 page's token rows as token records, in change order) and its size on the wire. */
export type FeedRecord = Exclude<ChangeRecord, { type: 'token' }> | { type: 'token'; revision: number; token: FeedToken };
export interface FeedPage {
  head: number;
  floor: number;
  records: FeedRecord[];
  next: ChangesRequest['after'] | null;
  bytes: number;
}

const idOf = (r: FeedRecord) =>
  r.type === 'token'
    ? r.token.id
    : r.type === 'app'
      ? r.app.id
      : r.type === 'policy'
        ? r.policy.id
        : r.type === 'organization'
          ? r.organization.accountId
          : r.id;
const changeOrder = (a: FeedRecord, b: FeedRecord) =>
  a.revision - b.revision || ChangeSources.indexOf(a.type) - ChangeSources.indexOf(b.type) || (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0);

/** One page of `feed`. */
export async function changes(rpc: TokenServiceHarness['rpc'], feed: Feed, request: ChangesRequest): Promise<FeedPage> {
  if (feed === 'v2') {
    const page = await rpc.request(ReplicaChanges, request);
    return { ...page, bytes: Buffer.byteLength(JSON.stringify(page)) };
  }
  const raw = await rpc.request(ReplicaChangesCompact, request);
  const page = decodeCompactPage(raw);
  const tokens: FeedRecord[] = (page.tokens ?? []).map((row) => ({ type: 'token', ...tokenRecordOf(row) }));
  return {
    head: page.head,
    floor: page.floor,
    next: page.next,
    records: [...page.records, ...tokens].sort(changeOrder),
    bytes: encodeBinaryReply({ id: 'x', response: raw, isDisposed: true })!.length,
  };
}

export interface PulledState {
  /** The head of the last page. */
  revision: number;
  tokens: FeedToken[];
  apps: Application[];
  policies: Policy[];
  organizations: Organization[];
  tombstones: Array<Extract<ChangeRecord, { type: 'tombstone' }>>;
  pages: Array<{ records: number; bytes: number }>;
}

/** Pages through the change feed from `since` to the end, as a replica would (no guards: tests only). */
export async function pullAll(
  rpc: TokenServiceHarness['rpc'],
  request: Omit<ChangesRequest, 'after'> = { since: -1 },
  feed: Feed = 'v2',
): Promise<PulledState> {
  const state: PulledState = { revision: -1, tokens: [], apps: [], policies: [], organizations: [], tombstones: [], pages: [] };
  let after: ChangesRequest['after'];
  for (;;) {
    const page = await changes(rpc, feed, { ...request, ...(after ? { after } : {}) });
    state.pages.push({ records: page.records.length, bytes: page.bytes });
    for (const r of page.records) {
      if (r.type === 'token') state.tokens.push(r.token);
      else if (r.type === 'app') state.apps.push(r.app);
      else if (r.type === 'policy') state.policies.push(r.policy);
      else if (r.type === 'organization') state.organizations.push(r.organization);
      else state.tombstones.push(r);
    }
    state.revision = page.head;
    if (!page.next) return state;
    after = page.next;
  }
}
