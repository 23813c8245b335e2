import { SECRET_PREFIX } from '@gatehouse/contracts';
import type { Decision, Via } from './access.js';
import type { GatewayMetrics } from './metrics.js';
import { Recorder, type DecisionEntry } from './recorder.js';
import type { ReplicaApp, ReplicaPolicy } from '../replica/replica.js';

/**
 * A token's last admission as logged: the same app, policy, source and path give the same entry,
 * so its key is kept rather than built and hashed again. Per token view: a changed token is a new
 * view (and a changed app or policy a new object), so the names in `entry` are never stale.
 */
interface LastAdmission {
  app: ReplicaApp;
  policy: ReplicaPolicy;
  ip: string;
  via: Via;
  key: string;
  entry: DecisionEntry;
}

/** A client id as presented, for the log; a pasted secret (wrong header) is never recorded. */
function loggableClientId(id: string | null): string | null {
  if (!id) return null;
  return id.startsWith(SECRET_PREFIX) ? '[redacted: looks like a secret]' : id.slice(0, 255);
}

/** Where each access decision goes: the metrics, the access log (batched by the Recorder), and the service log at debug level. */
export class DecisionLog {
  private readonly lastAdmission = new WeakMap<object, LastAdmission>();

  constructor(
    private readonly recorder: Recorder,
    private readonly metrics: GatewayMetrics | undefined,
    private readonly now: () => number,
    /** GatewayDeps.logDecision: set at GATEHOUSE_LOG_LEVEL=debug only. */
    private readonly logDecision?: (fields: Record<string, unknown>) => void,
  ) {}

  /** The decision `ray` (its Cf-Ray id) on a request from `ip`. */
  record(d: Decision, ip: string, via: Via, ray: string): void {
    const token = d.token;
    this.metrics?.decision(d.app.name, d.ok, d.ok ? '' : d.detail);
    if (d.ok && !this.logDecision) {
      const last = this.lastAdmission.get(d.token);
      if (last && last.app === d.app && last.policy === d.policy && last.ip === ip && last.via === via) {
        return this.recorder.decisionKeyed(last.key, last.entry, ray, this.now());
      }
    }
    const entry: DecisionEntry = {
      accountId: d.app.accountId,
      appId: d.app.id,
      appName: d.app.name,
      tokenId: token?.id ?? null,
      tokenName: token?.name ?? null,
      clientId: loggableClientId(d.ok ? d.token.clientId : d.clientId),
      decision: d.ok ? ('allow' as const) : ('deny' as const),
      reason: d.ok ? `admitted_by_policy:${d.policy.name}`.slice(0, 255) : d.detail,
      sourceIp: ip.slice(0, 64) || null,
      via,
      rayId: ray,
    };
    this.logDecision?.({
      ray_id: ray,
      app: entry.appName,
      result: entry.decision,
      reason: entry.reason,
      token_name: entry.tokenName,
      client_id: entry.clientId,
      source_ip: entry.sourceIp,
      via,
    });
    if (!d.ok) return this.recorder.decision(entry, this.now());
    const key = Recorder.keyOf(entry);
    this.lastAdmission.set(d.token, { app: d.app, policy: d.policy, ip, via, key, entry });
    this.recorder.decisionKeyed(key, entry, ray, this.now());
  }

  /** The token was used (its last-seen time). */
  seen(tokenId: string, now: number): void {
    this.recorder.tokenSeen(tokenId, now);
  }
}
