import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { natsAuth, natsConnectionOptions } from '@gatehouse/config';
import { expectEventually, freePort, startNats, type TestNats } from '@gatehouse/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { runService, type ServiceProcess } from '../src/system.js';
import { issueCertificate, makeCa, type TestCa } from '../src/tls.js';

/**
 * NATS over TLS (issue 14, "TLS when configured"): a nats-server of this file's own with a
 * certificate from a CA made here (openssl), and clients configured only through the services'
 * variables (GATEHOUSE_NATS_TLS_CA, _CERT, _KEY -> natsAuth -> natsConnectionOptions, the path
 * every service takes). The server's /connz says whether a connection really is TLS.
 */
describe('NATS over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-nats-tls-'));
  let ca: TestCa;
  let otherCa: TestCa;
  let client: { cert: string; key: string };
  let strangerClient: { cert: string; key: string };
  let tlsOnly: TestNats;
  let mutual: TestNats;
  const open: NatsConnection[] = [];

  const serverTls = (server: { cert: string; key: string }, verify: boolean) =>
    `tls {\n  cert_file: "${server.cert}"\n  key_file: "${server.key}"\n  ca_file: "${ca.cert}"\n  verify: ${verify}\n  timeout: 2\n}`;

  /** Connects the way a service does: its env keys, parsed by the shared helpers. */
  const connectWith = async (nats: TestNats, env: Record<string, string>, service = 'api') => {
    const nc = await connect({
      servers: nats.url,
      name: `tls-test-${service}`,
      reconnect: false,
      timeout: 3000,
      ...natsConnectionOptions(natsAuth(env, service)),
    });
    open.push(nc);
    return nc;
  };
  const roundTrip = async (nc: NatsConnection) => {
    const subject = `tls.test.${randomBytes(4).toString('hex')}`;
    const sub = nc.subscribe(subject, { max: 1 });
    const got = (async () => {
      for await (const m of sub) return m.string();
    })();
    nc.publish(subject, 'over tls');
    await nc.flush();
    return got;
  };
  /** The TLS version nats-server reports for the connection named `name` (undefined: not TLS). */
  const tlsVersionOf = async (nats: TestNats, name: string) => {
    const connz = (await (await fetch(`${nats.monitorUrl}/connz`)).json()) as { connections?: { name?: string; tls_version?: string }[] };
    const c = (connz.connections ?? []).find((x) => x.name === name);
    if (!c) throw new Error(`no connection named ${name}`);
    return c.tls_version;
  };

  beforeAll(async () => {
    ca = makeCa(dir, 'gatehouse-test-ca');
    otherCa = makeCa(dir, 'other-ca');
    const server = issueCertificate(dir, ca, 'nats-server', 'server');
    client = issueCertificate(dir, ca, 'api-client', 'client');
    strangerClient = issueCertificate(dir, otherCa, 'stranger-client', 'client');
    tlsOnly = await startNats({ config: serverTls(server, false) });
    mutual = await startNats({ config: serverTls(server, true) });
  });

  afterAll(async () => {
    await Promise.all(open.map((nc) => nc.close().catch(() => undefined)));
    await tlsOnly?.stop();
    await mutual?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects with the CA configured, and the connection is TLS', async () => {
    const nc = await connectWith(tlsOnly, { GATEHOUSE_NATS_TLS_CA: ca.cert });
    await expect(roundTrip(nc)).resolves.toBe('over tls');
    await expect(tlsVersionOf(tlsOnly, 'tls-test-api')).resolves.toMatch(/^1\.[23]$/);
  });

  it('refuses a server certificate that the configured CA did not sign, or with no CA configured', async () => {
    await expect(connectWith(tlsOnly, { GATEHOUSE_NATS_TLS_CA: otherCa.cert })).rejects.toThrow(/certificate|verify|self.signed/i);
    // Without a CA the client would trust only the system's CAs: the test CA is not one of them.
    await expect(connectWith(tlsOnly, {})).rejects.toThrow(/certificate|verify|self.signed|tls/i);
  });

  it('mutual TLS: admits a client certificate from the CA, refuses none or one from another CA', async () => {
    const nc = await connectWith(mutual, { GATEHOUSE_NATS_TLS_CA: ca.cert, GATEHOUSE_NATS_TLS_CERT: client.cert, GATEHOUSE_NATS_TLS_KEY: client.key });
    await expect(roundTrip(nc)).resolves.toBe('over tls');
    await expect(tlsVersionOf(mutual, 'tls-test-api')).resolves.toMatch(/^1\.[23]$/);
    await expect(connectWith(mutual, { GATEHOUSE_NATS_TLS_CA: ca.cert }, 'no-cert')).rejects.toThrow();
    await expect(
      connectWith(
        mutual,
        { GATEHOUSE_NATS_TLS_CA: ca.cert, GATEHOUSE_NATS_TLS_CERT: strangerClient.cert, GATEHOUSE_NATS_TLS_KEY: strangerClient.key },
        'stranger',
      ),
    ).rejects.toThrow();
    const connz = (await (await fetch(`${mutual.monitorUrl}/connz`)).json()) as { connections?: { name?: string }[] };
    expect((connz.connections ?? []).map((c) => c.name)).not.toEqual(expect.arrayContaining([expect.stringMatching(/no-cert|stranger/)]));
  });

  describe('a service process (the admin API) configured with the variables', () => {
    let api: ServiceProcess | undefined;
    afterEach(async () => {
      await api?.stop();
      api = undefined;
    });
    const startApi = async (tls: Record<string, string>) => {
      const managementPort = await freePort();
      api = runService('api', {
        NATS_URL: mutual.url,
        GATEHOUSE_ADMIN_TOKEN: randomBytes(24).toString('hex'),
        GATEHOUSE_API_PORT: String(await freePort()),
        GATEHOUSE_API_MANAGEMENT_PORT: String(managementPort),
        GATEHOUSE_LOG_LEVEL: 'warn',
        ...tls,
      });
      return `http://127.0.0.1:${managementPort}/readyz`;
    };
    const status = (url: string) =>
      fetch(url).then(
        (r) => r.status,
        () => 0,
      );

    it('becomes ready over mutual TLS', async () => {
      const readyz = await startApi({ GATEHOUSE_NATS_TLS_CA: ca.cert, GATEHOUSE_NATS_TLS_CERT: client.cert, GATEHOUSE_NATS_TLS_KEY: client.key });
      await expectEventually(async () => expect(await status(readyz)).toBe(200), { timeoutMs: 30_000 });
      await expect(tlsVersionOf(mutual, 'api')).resolves.toMatch(/^1\.[23]$/);
    }, 40_000);

    it('is not admitted without its client certificate: the server closes its handshakes, it never becomes ready', async () => {
      const closedHandshakes = async () => {
        const connz = (await (await fetch(`${mutual.monitorUrl}/connz?state=closed&limit=1024`)).json()) as { connections?: { reason?: string }[] };
        return (connz.connections ?? []).filter((c) => /tls handshake/i.test(c.reason ?? '')).length;
      };
      const before = await closedHandshakes();
      const readyz = await startApi({ GATEHOUSE_NATS_TLS_CA: ca.cert });
      // It tries (and keeps retrying: services wait for NATS at boot); each attempt is a refused handshake.
      await expectEventually(async () => expect(await closedHandshakes()).toBeGreaterThan(before), { timeoutMs: 20_000 });
      // The same service with its certificate was ready in about a second (above): give it 5.
      for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
        expect(await status(readyz)).not.toBe(200);
      }
      const connz = (await (await fetch(`${mutual.monitorUrl}/connz`)).json()) as { connections?: { name?: string }[] };
      expect((connz.connections ?? []).map((c) => c.name)).not.toContain('api');
    }, 40_000);
  });
});
