import { randomUUID } from 'node:crypto';
import type { OrganizationEntity } from './organization.entity.js';
import { INACTIVITY_ACTOR, InactivitySweeper, type InactivityDeps } from './inactivity.sweeper.js';

const DAY = 86_400_000;
/** No sweep of its own: the tests call sweep(). */
const NO_TIMER = { GATEHOUSE_INACTIVITY_SWEEP_INTERVAL_MS: 0 };
const now = Date.parse('2027-05-01T00:00:00Z');

function org(over: Partial<OrganizationEntity>): OrganizationEntity {
  return {
    accountId: randomUUID(),
    name: 'o',
    authDomain: null,
    sessionDuration: '24h',
    strictServiceTokenAuth: false,
    inactivityEnabled: true,
    inactivityThresholdDays: 30,
    inactivityAction: 'disable',
    createdAt: new Date(now),
    updatedAt: new Date(now),
    ...over,
  };
}

/** Fakes: `tokens` unused since long (oldest first); the candidates query pages by keyset like the SQL. */
function deps(orgs: OrganizationEntity[], list: Array<{ id: string; name: string; named?: boolean }>) {
  const tokens = list.map((t, i) => ({ ...t, since: new Date(now - 400 * DAY + i * 1000).toISOString() }));
  const retired: Array<{ accountId: string; tokenId: string; cutoff: Date; action: string }> = [];
  const d: InactivityDeps = {
    orgs: { withInactivityEnabled: async () => orgs },
    inactive: {
      candidates: async (_accountId, _cutoff, _enabledOnly, limit, after) =>
        tokens
          .filter((t) => !after || t.since > after.since)
          .slice(0, limit)
          .map(({ id, name, since }) => ({ id, name, since })),
    },
    namedByPolicy: async (_accountId, tokenId) => tokens.find((t) => t.id === tokenId)!.named === true,
    retire: async (accountId, tokenId, cutoff, action, actor) => {
      expect(actor).toEqual(INACTIVITY_ACTOR);
      retired.push({ accountId, tokenId, cutoff, action });
      return true;
    },
    clock: { now: () => new Date(now) },
  };
  return { d, retired };
}

describe('InactivitySweeper', () => {
  it('pages past more policy-named (exempt) tokens than one batch holds, and retires the rest', async () => {
    const named = Array.from({ length: 450 }, (_, i) => ({ id: randomUUID(), name: `named ${i}`, named: true }));
    const idle = { id: randomUUID(), name: 'idle' };
    const o = org({ inactivityThresholdDays: 45 });
    const { d, retired } = deps([o], [...named, idle]);
    await expect(new InactivitySweeper(d, NO_TIMER).sweep()).resolves.toEqual({ disabled: 1, deleted: 0 });
    expect(retired).toEqual([{ accountId: o.accountId, tokenId: idle.id, cutoff: new Date(now - 45 * DAY), action: 'disable' }]);
  });

  it('counts deletions, and shares one pass between concurrent callers', async () => {
    const tokens = [
      { id: randomUUID(), name: 'a' },
      { id: randomUUID(), name: 'b' },
    ];
    const { d, retired } = deps([org({ inactivityAction: 'delete' })], tokens);
    const sweeper = new InactivitySweeper(d, NO_TIMER);
    const [a, b] = await Promise.all([sweeper.sweep(), sweeper.sweep()]);
    expect(a).toEqual({ disabled: 0, deleted: 2 });
    expect(b).toBe(a);
    expect(retired).toHaveLength(2);
  });

  it('leaves a token that no longer qualifies (used meanwhile) and moves on', async () => {
    const tokens = [
      { id: randomUUID(), name: 'used meanwhile' },
      { id: randomUUID(), name: 'idle' },
    ];
    const { d } = deps([org({})], tokens);
    const seen: string[] = [];
    d.retire = async (_a, tokenId) => {
      seen.push(tokenId);
      return tokenId !== tokens[0]!.id;
    };
    await expect(new InactivitySweeper(d, NO_TIMER).sweep()).resolves.toEqual({ disabled: 1, deleted: 0 });
    expect(seen).toEqual(tokens.map((t) => t.id));
  });
});
