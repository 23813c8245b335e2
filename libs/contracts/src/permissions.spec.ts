import { AccessDecisionsRecorded } from './audit.js';
import { CreateApplication } from './apps.js';
import { ListAlertPolicies } from './alerts.js';
import { readFileSync } from 'node:fs';
import './index.js'; // every contract registered, not only those this file names
import { SERVICES, accessOf, deploymentAuthorizationConfig, natsAuthorizationConfig, natsPermissions } from './permissions.js';
import { ReplicaChanges, ReplicaChangesCompact, ReplicaHead } from './replication.js';
import { allContracts } from './rpc.js';
import { CreateServiceToken, TokenCreated, TokenDeleted, TokensSeen } from './tokens.js';

const perms = (s: (typeof SERVICES)[number]) => natsPermissions(s, `_INBOX_${s}`);

describe('NATS permissions from the contracts', () => {
  it('declare an owner for every subject', () => {
    const missing = allContracts()
      .filter((c) => !accessOf(c))
      .map((c) => c.subject);
    expect(missing).toEqual([]);
  });

  it('let only the token service answer tokens.v1.create and publish tokens.v1 facts', () => {
    for (const s of SERVICES) {
      const p = perms(s);
      expect(p.subscribe.includes(CreateServiceToken.subject)).toBe(s === 'token-service');
      const publishesTokenFacts = p.publish.filter((x) => x.startsWith('tokens.v1.') && allContracts().some((c) => c.kind === 'event' && c.subject === x));
      expect(publishesTokenFacts.length > 0).toBe(s === 'token-service');
    }
    expect(perms('api').publish).toContain(CreateServiceToken.subject);
    expect(perms('notification-service').publish).not.toContain(CreateServiceToken.subject);
    expect(perms('auth-service').publish).not.toContain(CreateServiceToken.subject);
  });

  it('let the gateway read what it replicates and publish only its access log, token use and replica requests', () => {
    const gw = perms('auth-service');
    const allowed = [ReplicaChanges.subject, ReplicaChangesCompact.subject, ReplicaHead.subject, AccessDecisionsRecorded.subject, TokensSeen.subject];
    expect(gw.subscribe).toEqual(expect.arrayContaining([TokenCreated.subject, TokenDeleted.subject, '_INBOX_auth-service.>']));
    expect(gw.publish).toEqual(expect.arrayContaining(allowed));
    const other = gw.publish.filter((x) => !x.startsWith('$JS.API.') && !allowed.includes(x));
    expect(other).toEqual([]);
    expect(gw.publish).not.toContain(CreateApplication.subject);
  });

  it('let the notifier follow the change feed, and only the token service answer it', () => {
    for (const subject of [ReplicaChanges.subject, ReplicaHead.subject]) {
      expect(perms('notification-service').publish).toContain(subject);
      expect(perms('api').publish).not.toContain(subject);
      for (const s of SERVICES) expect(perms(s).subscribe.includes(subject)).toBe(s === 'token-service');
    }
  });

  it('give each service its own reply inbox, and no wildcard over others', () => {
    for (const s of SERVICES) {
      const p = perms(s);
      expect(p.subscribe.filter((x) => x.includes('_INBOX'))).toEqual([`_INBOX_${s}.>`]);
      for (const x of [...p.publish, ...p.subscribe]) expect(x === '>' || x.startsWith('>') || x === '*.>').toBe(false);
    }
    expect(perms('api').publish).toContain(ListAlertPolicies.subject);
  });

  it('render a nats-server authorization block with variables left for the server to resolve', () => {
    const conf = natsAuthorizationConfig([
      { service: 'api', password: '$API_NATS_PASSWORD' },
      { service: 'token-service', password: 'p"w' },
    ]);
    expect(conf).toContain('user: "api", password: $API_NATS_PASSWORD,');
    expect(conf).toContain('user: "token-service", password: "p\\"w",');
    expect(conf.match(/allow_responses: true/g)).toHaveLength(1); // the token service answers; the API only asks
  });

  it('are what the deployment files give nats-server (infra/nats/authorization.conf is up to date)', () => {
    const committed = readFileSync(new URL('../../../infra/nats/authorization.conf', import.meta.url), 'utf8');
    expect(committed).toBe(deploymentAuthorizationConfig()); // else: npm run nats:authorization
  });
});
