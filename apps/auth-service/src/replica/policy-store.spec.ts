import { randomUUID } from 'node:crypto';
import { policyAdmits, type Policy, type PolicyRule } from '@gatehouse/contracts';
import { PolicyStore } from './policy-store.js';
import { appOf, policyOf } from './replica.fixture.js';
import { Replica } from './replica.js';

const rule = (tokenId: string): PolicyRule => ({ serviceToken: { tokenId } });
const at = (ms: number) => new Date(ms).toISOString();

/** The slot of each policy, in the order the store holds them. */
function slots(store: PolicyStore): number[] {
  const out: number[] = [];
  store.forEach((slot) => out.push(slot));
  return out;
}

describe('PolicyStore', () => {
  it('gives back every field of a policy as it came: rules of both kinds in all three lists, dates, name, account', () => {
    const store = new PolicyStore();
    const [t1, t2, t3] = [randomUUID(), randomUUID(), randomUUID()];
    const policy = policyOf(randomUUID(), {
      name: 'ci — déploiement',
      precedence: 7,
      include: [rule(t1), { anyValidServiceToken: {} }, rule(t2)],
      require: [{ anyValidServiceToken: {} }],
      exclude: [rule(t3)],
      createdAt: at(1_700_000_000_123),
      updatedAt: at(1_700_000_500_456),
    });
    store.set(policy, 42, policy.appId);
    const [slot] = slots(store);
    expect(store.view(slot!)).toEqual({ ...policy, revision: 42, sessionDurationMs: null });
    expect(store.revisionOf(policy.id)).toBe(42);
    expect(store.size).toBe(1);
  });

  it('keeps a rule naming an upper-case token id as it came: it names no token, as the reference evaluation says', () => {
    const store = new PolicyStore();
    const token = { id: randomUUID(), accountId: policyOf('x').accountId };
    const policy = policyOf(randomUUID(), { include: [rule(token.id.toUpperCase())] });
    store.set(policy, 1, policy.appId);
    const view = store.view(slots(store)[0]!);
    expect(view.include).toEqual([rule(token.id.toUpperCase())]);
    expect(policyAdmits(view, token)).toBe(policyAdmits(policy, token));
    expect(policyAdmits(view, token)).toBe(false);
  });

  it('keeps rule lists it cannot encode as they came (more than 65,535 rules)', () => {
    const store = new PolicyStore();
    const many = Array.from({ length: 70_000 }, () => ({ anyValidServiceToken: {} }));
    const policy = policyOf(randomUUID(), { include: many });
    store.set(policy, 1, policy.appId);
    expect(store.view(slots(store)[0]!).include).toHaveLength(70_000);
  });

  it('replaces in place, deletes, deletes an app’s policies, and reuses freed slots', () => {
    const store = new PolicyStore();
    const [appA, appB] = [randomUUID(), randomUUID()];
    const ps = Array.from({ length: 3000 }, (_, i) => policyOf(i % 3 === 0 ? appB : appA, { name: `p${i}` }));
    ps.forEach((p, i) => store.set(p, i + 1, p.appId));
    expect(store.size).toBe(3000);
    store.set({ ...ps[1]!, name: 'renamed', include: [] }, 5000, appA);
    expect(store.size).toBe(3000);
    const renamed = slots(store)
      .map((s) => store.view(s))
      .find((v) => v.id === ps[1]!.id)!;
    expect([renamed.name, renamed.include, renamed.revision]).toEqual(['renamed', [], 5000]);

    expect(store.delete(ps[2]!.id)).toBe(true);
    expect(store.delete(ps[2]!.id)).toBe(false);
    expect(store.revisionOf(ps[2]!.id)).toBeUndefined();
    store.deleteOfApp(appB);
    expect(store.size).toBe(3000 - 1 - 1000);
    for (const p of ps) expect(store.revisionOf(p.id)).toBe(p.appId === appB || p === ps[2] ? undefined : p === ps[1] ? 5000 : ps.indexOf(p) + 1);
    const highWater = Math.max(...slots(store));
    const again = Array.from({ length: 1001 }, () => policyOf(appA));
    again.forEach((p) => store.set(p, 1, appA));
    expect(Math.max(...slots(store))).toBe(highWater); // the freed slots, not new ones
    for (const p of again) expect(store.revisionOf(p.id)).toBe(1);
    expect(store.size).toBe(3000);
  });

  it('orders by precedence, then by creation, then by id', () => {
    const store = new PolicyStore();
    const app = randomUUID();
    const late = policyOf(app, { precedence: 1, createdAt: at(2000), updatedAt: at(2000) });
    const early = policyOf(app, { precedence: 1, createdAt: at(1000), updatedAt: at(1000) });
    const first = policyOf(app, { precedence: 0, createdAt: at(3000), updatedAt: at(3000) });
    for (const p of [late, early, first]) store.set(p, 1, app);
    const order = slots(store)
      .sort((a, b) => store.compare(a, b))
      .map((s) => store.view(s).id);
    expect(order).toEqual([first.id, early.id, late.id]);
    // Ties (same precedence and time) by id, as the token service lists them.
    const tied = Array.from({ length: 20 }, () => policyOf(app, { precedence: 5, createdAt: at(4000), updatedAt: at(4000) }));
    const ties = new PolicyStore();
    for (const p of tied) ties.set(p, 1, app);
    const tieOrder = slots(ties)
      .sort((a, b) => ties.compare(a, b))
      .map((s) => ties.view(s).id);
    expect(tieOrder).toEqual(tied.map((p) => p.id).sort());
  });

  it('refuses an id that is not a UUID', () => {
    const store = new PolicyStore();
    expect(store.fits('not-a-uuid')).toBe(false);
    expect(() => store.set(policyOf(randomUUID(), { id: 'not-a-uuid' }), 1, 'a')).toThrow('not a UUID');
  });
});

describe('Replica policies (held in a PolicyStore)', () => {
  it('answers policiesFor with the policies as they came, and a page with a policy it cannot hold is refused whole', () => {
    const r = new Replica();
    const app = appOf();
    const policies: Policy[] = [policyOf(app.id, { precedence: 2, include: [rule(randomUUID())] }), policyOf(app.id, { precedence: 1 })];
    r.apply([{ type: 'app', revision: 1, app }, ...policies.map((policy, i) => ({ type: 'policy' as const, revision: 2 + i, policy }))]);
    r.caughtUp(3);
    expect(r.policiesFor(app.id)).toEqual([policies[1], policies[0]].map((p, i) => ({ ...p, revision: 3 - i, sessionDurationMs: null })));
    expect(r.policiesFor(app.id)).toBe(r.policiesFor(app.id)); // cached until the indexes change
    expect(() =>
      r.apply([
        { type: 'policy', revision: 9, policy: policyOf(app.id, { id: 'x' }) },
        { type: 'app', revision: 10, app: { ...app, name: 'n' } },
      ]),
    ).toThrow('replica page refused: policy x cannot be kept');
    expect(r.app(app.id)?.name).toBe(app.name);
  });

  it('drops an app’s cached policies when one of them changes', () => {
    const r = new Replica();
    const app = appOf();
    const p = policyOf(app.id, { name: 'before' });
    r.apply([
      { type: 'app', revision: 1, app },
      { type: 'policy', revision: 2, policy: p },
    ]);
    r.caughtUp(2);
    expect(r.policiesFor(app.id).map((x) => x.name)).toEqual(['before']);
    r.applyEvent({ type: 'policy', payload: { kind: 'upserted', revision: 3, occurredAt: at(Date.now()), policy: { ...p, name: 'after' } } });
    expect(r.policiesFor(app.id).map((x) => x.name)).toEqual(['after']);
    r.applyEvent({ type: 'policy', payload: { kind: 'deleted', revision: 4, occurredAt: at(Date.now()), policy: p } });
    expect(r.policiesFor(app.id)).toEqual([]);
  });
});
