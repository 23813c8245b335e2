import { SECRET_PREFIX } from '@gatehouse/contracts';
import type { Decision, Via } from './access.js';
import type { GatewayMetrics } from './metrics.js';
import type { Recorder } from './recorder.js';

/** A client id as presented, for the log; a pasted secret (wrong header) is never recorded. */
function loggableClientId(id: string | null): string | null {
  if (!id) return null;
  return id.startsWith(SECRET_PREFIX) ? '[redacted: looks like a secret]' : id.slice(0, 255);
}

/** Where each access decision goes: the metrics, the access log (batched by the Recorder), and the service log at debug level. */
export class DecisionLog {
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
    const entry = {
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
    this.recorder.decision(entry, this.now());
  }

  /** The token was used (its last-seen time). */
  seen(tokenId: string, now: number): void {
    this.recorder.tokenSeen(tokenId, now);
  }
}
