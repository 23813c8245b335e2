import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { schemaKeys } from '@gatehouse/config';
import yaml from 'js-yaml';
import { ROOT } from '../src/system.js';

/**
 * Static checks of the deployment files (infra/): every manifest parses, every variable they set
 * exists in the env schema of the service that receives it (a typo there would be silently
 * ignored), every Secret key they read is in the template, and every probe names a port.
 */
const SERVICES = ['api', 'token-service', 'auth-service', 'notification-service'] as const;
/** Node's own variables (not a service setting): the gateway's V8 heap settings (docs/replication.md, "Gateway memory"). */
const NODE_RUNTIME = new Set(['NODE_OPTIONS']);
/** What the gateway must run with for a 1M-token replica to fit its memory figures. */
const GATEWAY_NODE_OPTIONS = /--max-semi-space-size=\d+ --max-old-space-size=\d+/;
/** The V8 flag NODE_OPTIONS refuses, on the gateway's and the token service's command lines (docs/replication.md, "Gateway memory"). */
const NODE_FLAGS = (service: string) => new RegExp(`^node --initial-old-space-size=\\d+ apps/${service}/dist/main\\.js$`);
/** A container's or service's command as one line. */
const commandOf = (command: unknown) => ([] as unknown[]).concat(command ?? []).join(' ');
type Doc = Record<string, any>;

async function envKeys(service: string): Promise<Set<string>> {
  const mod = (await import(join(ROOT, 'apps', service, 'dist', 'config', 'env.js'))) as { Env: Parameters<typeof schemaKeys>[0] };
  return new Set(schemaKeys(mod.Env));
}
/** The services a container's command starts (`node apps/<service>/dist/…`). */
function servicesOf(command: unknown): string[] {
  const text = ([] as unknown[]).concat(command ?? []).join(' ');
  return SERVICES.filter((s) => text.includes(`apps/${s}/dist/`));
}
const K8S = join(ROOT, 'infra', 'k8s');
const manifests = readdirSync(K8S)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => ({ file: f, docs: yaml.loadAll(readFileSync(join(K8S, f), 'utf8')).filter(Boolean) as Doc[] }));
const containersOf = (doc: Doc): Doc[] => doc.spec?.template?.spec?.containers ?? [];

describe('deployment files', () => {
  let keys: Record<string, Set<string>>;
  beforeAll(async () => {
    keys = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await envKeys(s)] as const)));
  });

  it('Kubernetes: every variable set on a service container is in that service’s env schema', () => {
    const unknown: string[] = [];
    const gatewayNodeOptions: string[] = [];
    const started: Record<string, string[]> = { 'auth-service': [], 'token-service': [] };
    let checked = 0;
    for (const { file, docs } of manifests) {
      for (const doc of docs) {
        for (const c of containersOf(doc)) {
          for (const service of Object.keys(started))
            if (commandOf(c.command).includes(`apps/${service}/dist/main.js`)) started[service]!.push(commandOf(c.command));
          for (const service of servicesOf(c.command)) {
            for (const e of c.env ?? []) {
              checked++;
              if (!keys[service]!.has(e.name) && !NODE_RUNTIME.has(e.name)) unknown.push(`${file}: ${service} ${e.name}`);
              if (service === 'auth-service' && e.name === 'NODE_OPTIONS') gatewayNodeOptions.push(String(e.value));
            }
          }
        }
      }
    }
    expect(unknown).toEqual([]);
    expect(checked).toBeGreaterThan(30);
    expect(gatewayNodeOptions).toEqual([expect.stringMatching(GATEWAY_NODE_OPTIONS)]);
    for (const [service, commands] of Object.entries(started)) expect([service, commands]).toEqual([service, [expect.stringMatching(NODE_FLAGS(service))]]);
  });

  it('Kubernetes: the topology is there (NATS ×3, migrate Job, 4 Deployments with readiness, PDBs)', () => {
    const all = manifests.flatMap((m) => m.docs);
    const nats = all.find((d) => d.kind === 'StatefulSet' && d.metadata.name === 'nats');
    expect(nats?.spec.replicas).toBe(3);
    expect(all.some((d) => d.kind === 'Job' && servicesOf(containersOf(d)[0]?.command).length === 3)).toBe(true);
    for (const s of SERVICES) {
      const dep = all.find((d) => d.kind === 'Deployment' && d.metadata.name === s);
      expect(dep).toBeDefined();
      const c = containersOf(dep!)[0]!;
      const portNames = new Set((c.ports ?? []).map((p: Doc) => p.name));
      expect(portNames.has(c.readinessProbe.httpGet.port)).toBe(true);
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(c.resources.requests.memory).toMatch(/^\d+Mi$/);
      expect(all.some((d) => d.kind === 'PodDisruptionBudget' && d.spec.selector.matchLabels.app === s)).toBe(true);
    }
    const kustomization = all.find((d) => d.kind === 'Kustomization')!;
    for (const r of kustomization.resources) expect(existsSync(join(K8S, r))).toBe(true);
    for (const g of kustomization.configMapGenerator) for (const f of g.files) expect(existsSync(join(K8S, f))).toBe(true);
  });

  it('Kubernetes: every Secret key read is in the Secret template', () => {
    const secret = manifests.flatMap((m) => m.docs).find((d) => d.kind === 'Secret')!;
    const missing: string[] = [];
    for (const { file, docs } of manifests) {
      for (const doc of docs) {
        for (const c of containersOf(doc)) {
          for (const e of c.env ?? []) {
            const key = e.valueFrom?.secretKeyRef?.key;
            if (key && !(key in secret.stringData)) missing.push(`${file}: ${key}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('compose: every variable set on a service is in that service’s env schema', () => {
    const compose = yaml.load(readFileSync(join(ROOT, 'infra', 'compose.yaml'), 'utf8')) as Doc;
    const unknown: string[] = [];
    for (const [name, svc] of Object.entries<Doc>(compose.services)) {
      for (const service of servicesOf(svc.command)) {
        for (const key of Object.keys(svc.environment ?? {})) if (!keys[service]!.has(key) && !NODE_RUNTIME.has(key)) unknown.push(`${name}: ${key}`);
        // The gateway itself (not its migrate step).
        if (commandOf(svc.command).includes('apps/auth-service/dist/main.js')) {
          expect(String(svc.environment?.NODE_OPTIONS)).toMatch(GATEWAY_NODE_OPTIONS);
          expect(commandOf(svc.command)).toMatch(NODE_FLAGS('auth-service'));
        }
        if (commandOf(svc.command).includes('apps/token-service/dist/main.js')) expect(commandOf(svc.command)).toMatch(NODE_FLAGS('token-service'));
      }
    }
    expect(unknown).toEqual([]);
  });
});
