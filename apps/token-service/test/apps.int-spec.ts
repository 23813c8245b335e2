import { randomUUID } from 'node:crypto';
import {
  AccessDecisionsRecorded,
  AppChanged,
  CreateAccount,
  CreateApplication,
  CreatePolicy,
  CreateServiceToken,
  DeleteApplication,
  DeletePolicy,
  DeleteServiceToken,
  GetApplication,
  GetPolicy,
  ListApplications,
  ListAuditEvents,
  ListPolicies,
  PoliciesUsingToken,
  PolicyChanged,
  RevokeApplicationSessions,
  UpdateApplication,
  UpdatePolicy,
  policyAdmits,
  type Actor,
  type PayloadInputOf,
} from '@gatehouse/contracts';
import { expectEventually } from '@gatehouse/testing';
import { pullAll, startHarness, type TokenServiceHarness } from './support.js';
const actor: Actor = { type: 'admin', id: 'apps-int-test' };
const domainOf = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}.example.com`;

describe('access applications and policies over real NATS and PostgreSQL', () => {
  let h: TokenServiceHarness;
  let rpc: TokenServiceHarness['rpc'];
  let events: TokenServiceHarness['events'];
  let accountId: string;

  const appEvents = (appId: string) =>
    events
      .filter((e) => e.subject === 'apps.v1.changed')
      .map((e) => AppChanged.parse(e.data))
      .filter((e) => e.app.id === appId);
  const policyEvents = (policyId: string) =>
    events
      .filter((e) => e.subject === 'policies.v1.changed')
      .map((e) => PolicyChanged.parse(e.data))
      .filter((e) => e.policy.id === policyId);
  const newApp = (tag: string, extra: Partial<Parameters<typeof rpc.request<typeof CreateApplication>>[1]> = {}) =>
    rpc.request(CreateApplication, { accountId, name: tag, domain: domainOf(tag), actor, ...extra });
  const newToken = (name: string, account = accountId) => rpc.request(CreateServiceToken, { accountId: account, name, actor });

  beforeAll(async () => {
    h = await startHarness(['apps.v1.changed', 'policies.v1.changed'], 'apps-int-test');
    ({ rpc, events, defaultAccountId: accountId } = h);
  });

  afterAll(async () => h?.stop());

  it('creates, reads, lists, updates and deletes an app; aud is generated once and never changes', async () => {
    const domain = domainOf('crud');
    const created = await rpc.request(CreateApplication, { accountId, name: 'CRUD app', domain: `${domain.toUpperCase()}/`, actor });
    expect(created).toMatchObject({
      name: 'CRUD app',
      domain,
      type: 'self_hosted',
      sessionDuration: '24h',
      upstream: null,
      readServiceTokensFromHeader: null,
      sessionsRevokedAt: null,
    });
    expect(created.aud).toMatch(/^[0-9a-f]{64}$/);

    await expect(rpc.request(GetApplication, { accountId, appId: created.id })).resolves.toEqual(created);
    const listed = await rpc.request(ListApplications, { accountId, perPage: 1000 });
    expect(listed.items.map((a) => a.id)).toContain(created.id);

    const updated = await rpc.request(UpdateApplication, {
      accountId,
      appId: created.id,
      name: 'CRUD app 2',
      domain: `${domain}/api`,
      upstream: 'http://127.0.0.1:9999',
      readServiceTokensFromHeader: 'X-Service-Token',
      sessionDuration: '30m',
      actor,
    });
    expect(updated).toMatchObject({ name: 'CRUD app 2', domain: `${domain}/api`, upstream: 'http://127.0.0.1:9999', sessionDuration: '30m', aud: created.aud });
    // Omitted optional fields keep their value; null clears.
    const again = await rpc.request(UpdateApplication, { accountId, appId: created.id, name: 'CRUD app 3', domain: `${domain}/api`, upstream: null, actor });
    expect(again).toMatchObject({ upstream: null, readServiceTokensFromHeader: 'X-Service-Token', sessionDuration: '30m', aud: created.aud });

    await expect(rpc.request(DeleteApplication, { accountId, appId: created.id, actor })).resolves.toMatchObject({ id: created.id });
    await expect(rpc.request(GetApplication, { accountId, appId: created.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(rpc.request(DeleteApplication, { accountId, appId: created.id, actor })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const audit = await rpc.request(ListAuditEvents, { accountId, resourceId: created.id, perPage: 50 });
    expect(audit.items.map((e) => e.action).reverse()).toEqual(['access_app.created', 'access_app.updated', 'access_app.updated', 'access_app.deleted']);
    await expectEventually(() => expect(appEvents(created.id).map((e) => e.kind)).toEqual(['upserted', 'upserted', 'upserted', 'deleted']));
    const revisions = appEvents(created.id).map((e) => e.revision);
    expect([...revisions].sort((a, b) => a - b)).toEqual(revisions);
    expect(new Set(revisions).size).toBe(4);
  });

  it('keeps domains unique across all accounts (CONFLICT): the gateway routes by host', async () => {
    const domain = domainOf('dup');
    const first = await rpc.request(CreateApplication, { accountId, name: 'first', domain, actor });
    await expect(rpc.request(CreateApplication, { accountId, name: 'second', domain: domain.toUpperCase(), actor })).rejects.toMatchObject({
      code: 'CONFLICT',
      details: [expect.objectContaining({ path: 'domain' })],
    });
    const other = await newApp('other');
    await expect(rpc.request(UpdateApplication, { accountId, appId: other.id, name: 'other', domain, actor })).rejects.toMatchObject({ code: 'CONFLICT' });
    // Two creates racing for one domain: exactly one wins, the other is a CONFLICT (not INTERNAL).
    const raced = domainOf('race');
    const results = await Promise.allSettled([0, 1, 2].map((i) => rpc.request(CreateApplication, { accountId, name: `race-${i}`, domain: raced, actor })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r) => r.status === 'rejected')) expect(r.reason).toMatchObject({ code: 'CONFLICT' });

    const second = await rpc.request(CreateAccount, { name: `second-${randomUUID()}` });
    await expect(rpc.request(CreateApplication, { accountId: second.id, name: 'same domain elsewhere', domain, actor })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await expect(rpc.request(CreateApplication, { accountId: second.id, name: 'own domain', domain: domainOf('own'), actor })).resolves.toMatchObject({
      accountId: second.id,
    });
    await expect(rpc.request(GetApplication, { accountId: second.id, appId: first.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(rpc.request(CreateApplication, { accountId: randomUUID(), name: 'x', domain: domainOf('x'), actor })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('revokes existing sessions by moving sessionsRevokedAt to now, and announces it', async () => {
    const created = await newApp('revoke');
    const before = Date.now();
    const revoked = await rpc.request(RevokeApplicationSessions, { accountId, appId: created.id, actor });
    const at = Date.parse(revoked.sessionsRevokedAt!);
    expect(at).toBeGreaterThanOrEqual(before - 5);
    expect(at).toBeLessThanOrEqual(Date.now() + 5);
    expect(revoked.aud).toBe(created.aud);
    const second = await rpc.request(RevokeApplicationSessions, { accountId, appId: created.id, actor });
    expect(Date.parse(second.sessionsRevokedAt!)).toBeGreaterThanOrEqual(at);
    await expectEventually(() => expect(appEvents(created.id).at(-1)?.app.sessionsRevokedAt).toBe(second.sessionsRevokedAt));
    await expect(rpc.request(RevokeApplicationSessions, { accountId, appId: randomUUID(), actor })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const audit = await rpc.request(ListAuditEvents, { accountId, resourceId: created.id, action: 'access_app.sessions_revoked' });
    expect(audit.totalCount).toBe(2);
  });

  it('manages policies: default precedence after the last, token checks per account, update, delete, events', async () => {
    const target = await newApp('policies');
    const token = await newToken('policy-token');
    const otherAccount = await rpc.request(CreateAccount, { name: `foreign-${randomUUID()}` });
    const foreign = await newToken('foreign-token', otherAccount.id);

    const p1 = await rpc.request(CreatePolicy, {
      accountId,
      appId: target.id,
      name: 'one token',
      decision: 'non_identity',
      include: [{ serviceToken: { tokenId: token.id } }],
      actor,
    });
    expect(p1).toMatchObject({ precedence: 1, require: [], exclude: [], appId: target.id, decision: 'non_identity' });
    const p2 = await rpc.request(CreatePolicy, {
      accountId,
      appId: target.id,
      name: 'any',
      decision: 'non_identity',
      include: [{ anyValidServiceToken: {} }],
      actor,
    });
    expect(p2.precedence).toBe(2);
    const p0 = await rpc.request(CreatePolicy, {
      accountId,
      appId: target.id,
      name: 'first',
      decision: 'non_identity',
      precedence: 1,
      include: [{ anyValidServiceToken: {} }],
      exclude: [{ serviceToken: { tokenId: token.id } }],
      actor,
    });
    const p3 = await rpc.request(CreatePolicy, {
      accountId,
      appId: target.id,
      name: 'after',
      decision: 'non_identity',
      include: [{ anyValidServiceToken: {} }],
      actor,
    });
    expect(p3.precedence).toBe(3);
    const list = await rpc.request(ListPolicies, { accountId, appId: target.id });
    expect(list.map((p) => p.id)).toEqual([p1.id, p0.id, p2.id, p3.id]);

    // A token of another account, or no token at all: VALIDATION_FAILED naming the rule.
    await expect(
      rpc.request(CreatePolicy, {
        accountId,
        appId: target.id,
        name: 'bad',
        decision: 'non_identity',
        include: [{ anyValidServiceToken: {} }],
        require: [{ serviceToken: { tokenId: token.id } }, { serviceToken: { tokenId: foreign.id } }],
        actor,
      }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'require.1.serviceToken.tokenId', message: expect.stringContaining(foreign.id) }] });
    const ghost = randomUUID();
    await expect(
      rpc.request(UpdatePolicy, {
        accountId,
        appId: target.id,
        policyId: p1.id,
        name: 'x',
        decision: 'non_identity',
        include: [{ serviceToken: { tokenId: ghost } }],
        actor,
      }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('include.0.serviceToken.tokenId') });
    await expect(
      rpc.request(CreatePolicy, { accountId, appId: randomUUID(), name: 'x', decision: 'non_identity', include: [{ anyValidServiceToken: {} }], actor }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const updated = await rpc.request(UpdatePolicy, {
      accountId,
      appId: target.id,
      policyId: p1.id,
      name: 'renamed',
      decision: 'non_identity',
      include: [{ anyValidServiceToken: {} }],
      require: [{ serviceToken: { tokenId: token.id } }],
      actor,
    });
    expect(updated).toMatchObject({
      name: 'renamed',
      precedence: 1,
      include: [{ anyValidServiceToken: {} }],
      require: [{ serviceToken: { tokenId: token.id } }],
    });
    await expect(rpc.request(GetPolicy, { accountId, appId: target.id, policyId: p1.id })).resolves.toEqual(updated);

    const using = await rpc.request(PoliciesUsingToken, { accountId, tokenId: token.id });
    expect(using.map((p) => [p.id, p.appName]).sort()).toEqual(
      [
        [p0.id, 'policies'],
        [p1.id, 'policies'],
      ].sort(),
    );
    await expect(rpc.request(PoliciesUsingToken, { accountId, tokenId: randomUUID() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(rpc.request(PoliciesUsingToken, { accountId: otherAccount.id, tokenId: token.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    await rpc.request(DeletePolicy, { accountId, appId: target.id, policyId: p2.id, actor });
    await expect(rpc.request(GetPolicy, { accountId, appId: target.id, policyId: p2.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expectEventually(() => expect(policyEvents(p2.id).map((e) => e.kind)).toEqual(['upserted', 'deleted']));
    await expectEventually(() => expect(policyEvents(p1.id).at(-1)?.policy.name).toBe('renamed'));

    // Deleting the app deletes its policies: one `deleted` app event implies them, each is audited.
    const eventsBefore = events.length;
    await rpc.request(DeleteApplication, { accountId, appId: target.id, actor });
    await expect(rpc.request(ListPolicies, { accountId, appId: target.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expectEventually(() => expect(appEvents(target.id).at(-1)?.kind).toBe('deleted'));
    expect(events.slice(eventsBefore).filter((e) => e.subject === 'policies.v1.changed')).toEqual([]);
    const audit = await rpc.request(ListAuditEvents, { accountId, resourceId: p3.id });
    expect(audit.items.map((e) => e.action)).toEqual(['access_policy.deleted', 'access_policy.created']);
    const snapshot = await pullAll(rpc);
    expect(snapshot.policies.filter((p) => p.appId === target.id)).toEqual([]);
  });

  it('keeps a rule naming a deleted token: it matches nothing, so the policy admits nobody it did not before', async () => {
    const target = await newApp('dangling');
    const doomed = await newToken('doomed');
    const bystander = await newToken('bystander');
    const onlyDoomed = await rpc.request(CreatePolicy, {
      accountId,
      appId: target.id,
      name: 'only doomed',
      decision: 'non_identity',
      include: [{ serviceToken: { tokenId: doomed.id } }],
      actor,
    });
    const requiresDoomed = await rpc.request(CreatePolicy, {
      accountId,
      appId: target.id,
      name: 'requires doomed',
      decision: 'non_identity',
      include: [{ anyValidServiceToken: {} }],
      require: [{ serviceToken: { tokenId: doomed.id } }],
      actor,
    });
    const excludesDoomed = await rpc.request(CreatePolicy, {
      accountId,
      appId: target.id,
      name: 'excludes doomed',
      decision: 'non_identity',
      include: [{ serviceToken: { tokenId: bystander.id } }],
      exclude: [{ serviceToken: { tokenId: doomed.id } }],
      actor,
    });

    await rpc.request(DeleteServiceToken, { accountId, tokenId: doomed.id, actor });
    const snapshot = await pullAll(rpc);
    expect(snapshot.tokens.map((t) => t.id)).not.toContain(doomed.id);
    const byId = new Map(snapshot.policies.map((p) => [p.id, p]));
    expect(byId.get(onlyDoomed.id)!.include).toEqual([{ serviceToken: { tokenId: doomed.id } }]);
    expect(byId.get(requiresDoomed.id)!.require).toEqual([{ serviceToken: { tokenId: doomed.id } }]);
    const accountTokens = snapshot.tokens.filter((t) => t.accountId === accountId);
    expect(accountTokens.length).toBeGreaterThan(1);
    for (const t of accountTokens) {
      expect(policyAdmits(byId.get(onlyDoomed.id)!, t)).toBe(false);
      expect(policyAdmits(byId.get(requiresDoomed.id)!, t)).toBe(false);
      expect(policyAdmits(byId.get(excludesDoomed.id)!, t)).toBe(t.id === bystander.id);
    }

    // Still listed for the deleted token; may stay on update; may not be written anew.
    const using = await rpc.request(PoliciesUsingToken, { accountId, tokenId: doomed.id });
    expect(using.map((p) => p.id).sort()).toEqual([onlyDoomed.id, requiresDoomed.id, excludesDoomed.id].sort());
    await expect(
      rpc.request(UpdatePolicy, {
        accountId,
        appId: target.id,
        policyId: onlyDoomed.id,
        name: 'only doomed (renamed)',
        decision: 'non_identity',
        include: [{ serviceToken: { tokenId: doomed.id } }],
        actor,
      }),
    ).resolves.toMatchObject({ name: 'only doomed (renamed)' });
    await expect(
      rpc.request(CreatePolicy, {
        accountId,
        appId: target.id,
        name: 'new',
        decision: 'non_identity',
        include: [{ serviceToken: { tokenId: doomed.id } }],
        actor,
      }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('snapshots tokens, apps, policies and the revision consistently, even during concurrent writes', async () => {
    const isolated = await rpc.request(CreateAccount, { name: `snap-${randomUUID()}` });
    const base = await pullAll(rpc);
    expect(base.apps.filter((a) => a.accountId === isolated.id)).toEqual([]);
    const writes = Array.from({ length: 20 }, (_, i) =>
      rpc.request(CreateApplication, { accountId: isolated.id, name: `snap-${i}`, domain: domainOf(`snap${i}`), actor }),
    );
    const snaps = Array.from({ length: 20 }, () => pullAll(rpc));
    const [created, taken] = await Promise.all([Promise.all(writes), Promise.all(snaps)]);
    for (const s of taken) {
      // Only these creates run now, each bumping the revision once: the count must match exactly.
      expect(s.apps.filter((a) => a.accountId === isolated.id)).toHaveLength(s.revision - base.revision);
    }
    const after = await pullAll(rpc);
    expect(after.revision).toBe(base.revision + created.length);
    const lastEvent = await expectEventually(() => {
      const revs = events.filter((e) => e.subject === 'apps.v1.changed').map((e) => AppChanged.parse(e.data).revision);
      expect(Math.max(...revs)).toBe(after.revision);
      return Math.max(...revs);
    });
    expect(lastEvent).toBe(after.revision);
    expect(after.tokens.every((t) => typeof t.secretHash === 'string' && !('clientSecret' in t))).toBe(true);
  });

  it('appends batched access decisions to the audit log', async () => {
    const acct = await rpc.request(CreateAccount, { name: `decisions-${randomUUID()}` });
    const appId = randomUUID();
    const tokenId = randomUUID();
    const now = Date.now();
    const decisions: PayloadInputOf<typeof AccessDecisionsRecorded>['decisions'] = Array.from({ length: 1500 }, (_, i) => ({
      accountId: acct.id,
      occurredAt: new Date(now - i).toISOString(),
      appId: i === 0 ? null : appId,
      appName: i === 0 ? null : 'decided',
      tokenId: i % 3 === 0 ? null : tokenId,
      tokenName: i % 3 === 0 ? null : 'ci',
      clientId: i % 3 === 0 ? null : 'abc.access',
      decision: i % 3 === 0 ? 'deny' : 'allow',
      reason: i % 3 === 0 ? 'unknown_client_id' : 'policy',
      sourceIp: '127.0.0.1',
      via: 'service_token',
      ...(i === 1 ? { count: 42 } : {}),
    }));
    await rpc.publish(AccessDecisionsRecorded, { decisions });
    await expectEventually(
      async () => {
        const all = await rpc.request(ListAuditEvents, { accountId: acct.id, perPage: 1 });
        expect(all.totalCount).toBe(1500);
      },
      { timeoutMs: 10_000 },
    );
    const denied = await rpc.request(ListAuditEvents, { accountId: acct.id, action: 'access.denied', perPage: 1000 });
    expect(denied.totalCount).toBe(500);
    const first = denied.items.find((e) => e.resourceId === null)!;
    expect(first).toMatchObject({
      actor: { type: 'service_token', id: 'unknown' },
      resourceType: 'access_app',
      resourceName: null,
      occurredAt: new Date(now).toISOString(),
      metadata: { tokenId: null, tokenName: null, reason: 'unknown_client_id', sourceIp: '127.0.0.1', via: 'service_token' },
    });
    const allowed = await rpc.request(ListAuditEvents, { accountId: acct.id, action: 'access.allowed', perPage: 1 });
    expect(allowed.totalCount).toBe(1000);
    expect(allowed.items[0]).toMatchObject({
      actor: { type: 'service_token', id: 'abc.access' },
      resourceId: appId,
      resourceName: 'decided',
      metadata: { tokenId, tokenName: 'ci', reason: 'policy' },
    });
    const aggregated = await rpc.request(ListAuditEvents, { accountId: acct.id, since: new Date(now - 1).toISOString(), before: new Date(now).toISOString() });
    expect(aggregated.items.map((e) => e.metadata.count)).toEqual([42]);
    // token_id finds a token's access decisions (recorded against the app) as well as its changes.
    const byToken = await rpc.request(ListAuditEvents, { accountId: acct.id, tokenId, perPage: 1 });
    expect(byToken.totalCount).toBe(1000);
    const other = await rpc.request(ListAuditEvents, { accountId: acct.id, tokenId: randomUUID(), perPage: 1 });
    expect(other.totalCount).toBe(0);
  });
});
