import type { IncomingMessage } from 'node:http';
import type { Organization } from '@gatehouse/contracts';
import { appOf, loadInto } from '../replica/replica.fixture.js';
import { Replica } from '../replica/replica.js';
import { strictFor, strictRefusal } from './strict.js';

/** A request as node:http hands it over: raw header lines, and the parsed (joined) headers. */
function req(lines: Array<[string, string]>): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of lines) headers[k.toLowerCase()] = headers[k.toLowerCase()] ? `${headers[k.toLowerCase()]}, ${v}` : v;
  return { rawHeaders: lines.flat(), headers } as unknown as IncomingMessage;
}

const ID: [string, string] = ['CF-Access-Client-Id', 'abc.access'];
const SECRET: [string, string] = ['CF-Access-Client-Secret', 's3cret'];

describe('strict service-token mode', () => {
  it('refuses service-token headers sent with a JWT (header or cookie), and nothing else', () => {
    expect(strictRefusal(req([ID, SECRET]), null)).toBeNull();
    expect(strictRefusal(req([['cf-access-token', 'a.b.c']]), null)).toBeNull();
    expect(strictRefusal(req([['Cookie', 'CF_Authorization=a.b.c']]), null)).toBeNull();
    expect(strictRefusal(req([ID, SECRET, ['cf-access-token', 'a.b.c']]), null)).toBe('service_token_with_jwt');
    expect(strictRefusal(req([ID, SECRET, ['Cookie', 'x=1; CF_Authorization=a.b.c']]), null)).toBe('service_token_with_jwt');
    // A cookie merely named like it is not a JWT.
    expect(strictRefusal(req([ID, SECRET, ['Cookie', 'MY_CF_Authorization=1']]), null)).toBeNull();
    // The app's single credential header counts as service-token headers.
    expect(
      strictRefusal(
        req([
          ['Authorization', '{"cf-access-client-id":"a"}'],
          ['cf-access-token', 'a.b.c'],
        ]),
        'Authorization',
      ),
    ).toBe('service_token_with_jwt');
  });

  it('refuses any CF-Access-Client-* header given twice, whatever its case', () => {
    expect(strictRefusal(req([ID, ['cf-access-client-id', 'abc.access'], SECRET]), null)).toBe('duplicate_credential_header');
    expect(strictRefusal(req([ID, SECRET, ['CF-ACCESS-CLIENT-SECRET', 'x']]), null)).toBe('duplicate_credential_header');
    expect(strictRefusal(req([ID, SECRET, ['cf-access-client-anything', '1'], ['cf-access-client-anything', '2']]), null)).toBe('duplicate_credential_header');
    expect(
      strictRefusal(
        req([
          ['cf-access-token', 'a'],
          ['cf-access-token', 'b'],
        ]),
        null,
      ),
    ).toBe('duplicate_credential_header');
    expect(strictRefusal(req([ID, SECRET, ['Accept', 'a'], ['Accept', 'b']]), null)).toBeNull();
  });

  it("follows the account's organization in the replica (not strict without one)", () => {
    const r = new Replica();
    const app = appOf();
    const org = (strict: boolean): Organization => ({
      accountId: app.accountId,
      name: 'o',
      authDomain: null,
      sessionDuration: '24h',
      strictServiceTokenAuth: strict,
      serviceTokenInactivity: { enabled: false, inactivityThresholdDays: 90, action: 'disable' },
      createdAt: null,
      updatedAt: null,
    });
    loadInto(r, { revision: 1, tokens: [], apps: [app], policies: [] });
    const replicaApp = r.app(app.id)!;
    expect(strictFor(r, replicaApp)).toBe(false);
    const generation = r.generation;
    expect(r.applyEvent({ type: 'organization', payload: { revision: 2, occurredAt: new Date().toISOString(), organization: org(true) } })).toBe('applied');
    expect(strictFor(r, replicaApp)).toBe(true);
    expect(r.generation).toBeGreaterThan(generation);
    // An older state never overwrites a newer one; a page carries organizations too.
    expect(r.applyEvent({ type: 'organization', payload: { revision: 2, occurredAt: new Date().toISOString(), organization: org(false) } })).toBe('stale');
    expect(strictFor(r, replicaApp)).toBe(true);
    loadInto(r, { revision: 3, tokens: [], apps: [app], policies: [], organizations: [org(false)] });
    expect(strictFor(r, r.app(app.id)!)).toBe(false);
  });
});
