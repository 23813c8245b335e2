import { SECRET_PREFIX } from '@gatehouse/contracts';
import type { Decision, Via } from './access.js';
import type { GatewayMetrics } from './metrics.js';
import type { Recorder } from './recorder.js';

/** A client id as presented, for the log; a pasted secret (wrong header) is never recorded. */
function loggableClientId(id: string | null): string | null {
  if (!id) return null;
  return id.startsWith(SECRET_PREFIX) ? '[redacted: looks like a secret]' : id.slice(0, 255);
}

/** Where each access decision goes: the metrics, and the access log (batched by the Recorder). */
export class DecisionLog {
  constructor(
    private readonly recorder: Recorder,
    private readonly metrics: GatewayMetrics | undefined,
    private readonly now: () => number,
  ) {}

  record(d: Decision, ip: string, via: Via): void {
    const token = d.token;
    this.metrics?.decision(d.app.name, d.ok, d.ok ? '' : d.detail);
    this.recorder.decision(
      {
        accountId: d.app.accountId,
        appId: d.app.id,
        appName: d.app.name,
        tokenId: token?.id ?? null,
        tokenName: token?.name ?? null,
        clientId: loggableClientId(d.ok ? d.token.clientId : d.clientId),
        decision: d.ok ? 'allow' : 'deny',
        reason: d.ok ? `admitted_by_policy:${d.policy.name}`.slice(0, 255) : d.detail,
        sourceIp: ip.slice(0, 64) || null,
        via,
      },
      this.now(),
    );
  }

  /** The token was used (its last-seen time). */
  seen(tokenId: string, now: number): void {
    this.recorder.tokenSeen(tokenId, now);
  }
}
