import { ACCESS_LOG_STREAM, AccessDecisionsRecorded, ensureAccessLogStream, type StreamsApi } from './audit.js';

/** A stream API that records what it is asked; `exists` says whether the stream is there. */
function streams(exists: boolean) {
  const added: Array<Record<string, unknown>> = [];
  const api: StreamsApi = {
    info: async (name) => {
      if (!exists) throw new Error(`stream ${name} not found`);
      return { config: { name } };
    },
    add: async (config) => void added.push(config),
  };
  return { api, added };
}

describe('the access-log stream', () => {
  it('is created when missing: work queue on disk, for the decisions subject, with the replicas asked for', async () => {
    const s = streams(false);
    await ensureAccessLogStream(s.api, 3);
    expect(s.added).toEqual([
      {
        name: ACCESS_LOG_STREAM.name,
        subjects: [AccessDecisionsRecorded.subject],
        retention: 'workqueue',
        storage: 'file',
        num_replicas: 3,
        max_age: 7 * 24 * 3_600_000 * 1_000_000,
        duplicate_window: 10 * 60_000 * 1_000_000,
      },
    ]);
    const one = streams(false);
    await ensureAccessLogStream(one.api);
    expect(one.added[0]!.num_replicas).toBe(1);
  });

  it('is left as it is when it exists', async () => {
    const s = streams(true);
    await ensureAccessLogStream(s.api, 3);
    expect(s.added).toEqual([]);
  });

  it('accepts batches with or without a batch id, and refuses a malformed one', () => {
    const decision = {
      accountId: '11111111-1111-4111-8111-111111111111',
      occurredAt: new Date(0).toISOString(),
      appId: null,
      appName: null,
      tokenId: null,
      tokenName: null,
      clientId: null,
      decision: 'deny',
      reason: 'no_credentials',
      sourceIp: null,
      via: 'service_token',
    };
    expect(AccessDecisionsRecorded.payload.safeParse({ decisions: [decision] }).success).toBe(true);
    expect(AccessDecisionsRecorded.payload.safeParse({ batchId: '22222222-2222-4222-8222-222222222222', decisions: [decision] }).success).toBe(true);
    expect(AccessDecisionsRecorded.payload.safeParse({ batchId: 'not-a-uuid', decisions: [decision] }).success).toBe(false);
  });
});
