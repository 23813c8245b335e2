import { randomUUID } from 'node:crypto';
import {
  AppChanged,
  CreateAccount,
  CreateApplication,
  CreatePolicy,
  CreateReusablePolicy,
  CreateServiceToken,
  DeleteApplication,
  DeletePolicy,
  DeleteReusablePolicy,
  DeleteServiceToken,
  ReusablePoliciesUsingToken,
  GetApplication,
  GetReusablePolicy,
  ListAuditEvents,
  ListPolicies,
  ListReusablePolicies,
  ReplicaHead,
  UpdateApplication,
  UpdateReusablePolicy,
  type Actor,
} from '@gatehouse/contracts';
import { expectEventually } from '@gatehouse/testing';
import { pullAll, startHarness, type TokenServiceHarness } from './support.js';

const actor: Actor = { type: 'admin', id: 'reusable-int-test' };
const domainOf = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}.example.com`;
const any = [{ anyValidServiceToken: {} }];

describe('reusable policies over real NATS and PostgreSQL', () => {
  let h: TokenServiceHarness;
  let rpc: TokenServiceHarness['rpc'];
  let accountId: string;

  const appEvents = (appId: string) =>
    h.events
      .filter((e) => e.subject === 'apps.v1.changed')
      .map((e) => AppChanged.parse(e.data))
      .filter((e) => e.app.id === appId);
  const newPolicy = (name: string, extra: Partial<Parameters<typeof rpc.request<typeof CreateReusablePolicy>>[1]> = {}) =>
    rpc.request(CreateReusablePolicy, { accountId, name, decision: 'non_identity', include: any, actor, ...extra });
  const newApp = (tag: string, policies?: Array<{ id: string; precedence: number }>) =>
    rpc.request(CreateApplication, { accountId, name: tag, domain: domainOf(tag.replace(/\W/g, '-')), policies, actor });

  beforeAll(async () => {
    h = await startHarness(['apps.v1.changed'], 'reusable-int-test');
    ({ rpc, defaultAccountId: accountId } = h);
  });
  afterAll(async () => h?.stop());

  it('creates, reads, lists and updates a reusable policy; apps link it in precedence order', async () => {
    const token = await rpc.request(CreateServiceToken, { accountId, name: `reusable-${randomUUID()}`, actor });
    const a = await newPolicy('A', { sessionDuration: '30m', exclude: [{ serviceToken: { tokenId: token.id } }] });
    expect(a).toMatchObject({ name: 'A', decision: 'non_identity', include: any, require: [], sessionDuration: '30m', apps: [] });
    const b = await newPolicy('B');
    const app = await newApp('linked', [
      { id: a.id, precedence: 2 },
      { id: b.id, precedence: 1 },
    ]);
    expect(app.linkedPolicies.map((p) => [p.name, p.precedence])).toEqual([
      ['B', 1],
      ['A', 2],
    ]);
    expect(app.linkedPolicies[1]).toMatchObject({ sessionDuration: '30m', exclude: [{ serviceToken: { tokenId: token.id } }] });
    await expect(rpc.request(GetReusablePolicy, { accountId, policyId: a.id })).resolves.toMatchObject({
      apps: [{ id: app.id, name: 'linked', precedence: 2 }],
    });
    const listed = await rpc.request(ListReusablePolicies, { accountId, perPage: 1000 });
    expect(listed.items.find((p) => p.id === b.id)?.apps).toEqual([{ id: app.id, name: 'linked', precedence: 1 }]);

    // Omitted require/exclude/sessionDuration keep their value; null clears the duration.
    const updated = await rpc.request(UpdateReusablePolicy, {
      accountId,
      policyId: a.id,
      name: 'A2',
      decision: 'non_identity',
      include: any,
      sessionDuration: null,
      actor,
    });
    expect(updated).toMatchObject({ name: 'A2', sessionDuration: null, exclude: [{ serviceToken: { tokenId: token.id } }] });

    const audit = await rpc.request(ListAuditEvents, { accountId, resourceId: a.id });
    expect(audit.items.map((e) => e.action).sort()).toEqual(['access_policy.created', 'access_policy.updated']);
  });

  it('announces a change to a reusable policy as an AppChanged event, with its own revision, for every app linking it', async () => {
    const p = await newPolicy('shared');
    const one = await newApp('one', [{ id: p.id, precedence: 1 }]);
    const two = await newApp('two', [{ id: p.id, precedence: 1 }]);
    const other = await newApp('other');
    const before = await rpc.request(ReplicaHead, {});
    const excludeAll = [{ anyValidServiceToken: {} }];
    await rpc.request(UpdateReusablePolicy, { accountId, policyId: p.id, name: 'shared', decision: 'non_identity', include: any, exclude: excludeAll, actor });
    await expectEventually(() => {
      for (const app of [one, two]) expect(appEvents(app.id).at(-1)?.app.linkedPolicies[0]?.exclude).toEqual(excludeAll);
    });
    const revisions = [one, two].map((app) => appEvents(app.id).at(-1)!.revision).sort((x, y) => x - y);
    expect(revisions).toEqual([before.head + 1, before.head + 2]);
    expect(appEvents(other.id)).toHaveLength(1); // its create only

    // The change feed moved both linking apps (and only them) to the policy change's revisions: a
    // replica pulling "changes since" gets each app record again, with the new rules resolved,
    // exactly as the API returns the app.
    const pulled = await pullAll(rpc, { since: before.head });
    expect(pulled.revision).toBe(before.head + 2);
    expect(pulled.apps.map((a) => a.id).sort()).toEqual([one.id, two.id].sort());
    for (const app of [one, two]) {
      const fromFeed = pulled.apps.find((a) => a.id === app.id)!;
      expect(fromFeed.linkedPolicies[0]?.exclude).toEqual(excludeAll);
      await expect(rpc.request(GetApplication, { accountId, appId: app.id })).resolves.toEqual(fromFeed);
    }
    expect(pulled.policies).toEqual([]);
  });

  it('refuses to delete a linked policy, naming its apps; deletes it once unlinked (an app delete unlinks)', async () => {
    const p = await newPolicy('in use');
    const app = await newApp('user', [{ id: p.id, precedence: 1 }]);
    const second = await newApp('second user', [{ id: p.id, precedence: 3 }]);
    const refused = rpc.request(DeleteReusablePolicy, { accountId, policyId: p.id, actor });
    await expect(refused).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('"user"') });
    await expect(rpc.request(DeleteReusablePolicy, { accountId, policyId: p.id, actor })).rejects.toMatchObject({
      message: expect.stringContaining('"second user"'),
    });
    await expect(rpc.request(GetApplication, { accountId, appId: app.id })).resolves.toMatchObject({ linkedPolicies: [{ id: p.id }] });

    await rpc.request(UpdateApplication, { accountId, appId: app.id, name: 'user', domain: app.domain, policies: [], actor });
    await rpc.request(DeleteApplication, { accountId, appId: second.id, actor });
    await expect(rpc.request(DeleteReusablePolicy, { accountId, policyId: p.id, actor })).resolves.toMatchObject({ id: p.id, apps: [] });
    await expect(rpc.request(GetReusablePolicy, { accountId, policyId: p.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('keeps linked and app-scoped policies apart, and validates links', async () => {
    const p = await newPolicy('links');
    const inlineApp = await newApp('inline');
    await rpc.request(CreatePolicy, { accountId, appId: inlineApp.id, name: 'scoped', decision: 'non_identity', include: any, actor });
    const link = (app: typeof inlineApp, policies: Array<{ id: string; precedence: number }>) =>
      rpc.request(UpdateApplication, { accountId, appId: app.id, name: app.name, domain: app.domain, policies, actor });
    await expect(link(inlineApp, [{ id: p.id, precedence: 1 }])).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/app-scoped/),
    });

    const linkedApp = await newApp('linked2', [{ id: p.id, precedence: 1 }]);
    await expect(
      rpc.request(CreatePolicy, { accountId, appId: linkedApp.id, name: 'scoped', decision: 'non_identity', include: any, actor }),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/reusable/),
    });

    await expect(link(linkedApp, [{ id: randomUUID(), precedence: 1 }])).rejects.toMatchObject({ details: [{ path: 'policies.0.id' }] });
    await expect(
      link(linkedApp, [
        { id: p.id, precedence: 1 },
        { id: p.id, precedence: 2 },
      ]),
    ).rejects.toMatchObject({ details: [{ path: 'policies.1.id' }] });
    const q = await newPolicy('q');
    await expect(
      link(linkedApp, [
        { id: p.id, precedence: 1 },
        { id: q.id, precedence: 1 },
      ]),
    ).rejects.toMatchObject({ details: [{ path: 'policies.1.precedence' }] });
    // Another account's policy is no policy of this account.
    const otherAccount = await rpc.request(CreateAccount, { name: `other-${randomUUID()}` });
    const foreign = await rpc.request(CreateReusablePolicy, { accountId: otherAccount.id, name: 'foreign', decision: 'non_identity', include: any, actor });
    await expect(link(linkedApp, [{ id: foreign.id, precedence: 1 }])).rejects.toMatchObject({ details: [{ path: 'policies.0.id' }] });
    await expect(rpc.request(GetReusablePolicy, { accountId, policyId: foreign.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Nothing refused changed the links.
    await expect(rpc.request(GetApplication, { accountId, appId: linkedApp.id })).resolves.toMatchObject({ linkedPolicies: [{ id: p.id, precedence: 1 }] });

    // With the scoped policy gone, the inline app may link.
    const [scoped] = await rpc.request(ListPolicies, { accountId, appId: inlineApp.id });
    await rpc.request(DeletePolicy, { accountId, appId: inlineApp.id, policyId: scoped!.id, actor });
    await expect(link(inlineApp, [{ id: p.id, precedence: 1 }])).resolves.toMatchObject({ linkedPolicies: [{ id: p.id }] });
  });

  it('lists the reusable policies naming a token, with their apps, also once the token is deleted', async () => {
    const token = await rpc.request(CreateServiceToken, { accountId, name: `named-${randomUUID()}`, actor });
    const p = await newPolicy('names it', { require: [{ serviceToken: { tokenId: token.id } }] });
    await newPolicy('does not');
    const app = await newApp('namer', [{ id: p.id, precedence: 1 }]);
    const expected = [expect.objectContaining({ id: p.id, apps: [{ id: app.id, name: 'namer', precedence: 1 }] })];
    await expect(rpc.request(ReusablePoliciesUsingToken, { accountId, tokenId: token.id })).resolves.toEqual(expected);
    await rpc.request(DeleteServiceToken, { accountId, tokenId: token.id, actor });
    await expect(rpc.request(ReusablePoliciesUsingToken, { accountId, tokenId: token.id })).resolves.toEqual(expected);
    await expect(rpc.request(ReusablePoliciesUsingToken, { accountId, tokenId: randomUUID() })).resolves.toEqual([]);
  });

  it('refuses rules naming unknown tokens, and decisions other than non_identity', async () => {
    await expect(newPolicy('bad', { include: [{ serviceToken: { tokenId: randomUUID() } }] })).rejects.toMatchObject({
      details: [{ path: 'include.0.serviceToken.tokenId' }],
    });
    await expect(newPolicy('bad', { decision: 'allow' as 'non_identity' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
