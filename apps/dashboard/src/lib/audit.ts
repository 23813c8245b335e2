import type { AuditEntry } from './types';

/** Access decisions (from the gateway) versus configuration changes. */
export function auditKind(e: AuditEntry): 'allow' | 'deny' | 'change' {
  const decision = typeof e.metadata?.decision === 'string' ? e.metadata.decision : null;
  if (decision === 'allow' || /\.(allow|allowed|granted)$/.test(e.action.type)) return 'allow';
  if (decision === 'deny' || /\.(deny|denied|refused)$/.test(e.action.type)) return 'deny';
  return 'change';
}

/** "service_token.rotated" → "Service token rotated". */
export function describeAction(type: string): string {
  const text = type.replace(/[._]/g, ' ').trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** Keys shown elsewhere in the row (the actor column names the token). */
const SHOWN_ELSEWHERE = new Set(['tokenName']);
const LABELS: Record<string, string> = {
  clientId: 'Client ID',
  tokenId: 'Token ID',
  appId: 'Application ID',
  sourceIp: 'Source IP',
  via: 'Via',
  count: 'Requests',
  expiresAt: 'Expires',
  previousClientSecretExpiresAt: 'Previous secret valid until',
  clientSecretVersion: 'Secret version',
  sessionsRevokedAt: 'Sessions revoked at',
};

/** "previousClientSecretExpiresAt" → "Previous client secret expires at" (unless named in LABELS). */
export function labelOf(key: string): string {
  if (LABELS[key]) return LABELS[key];
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_.]/g, ' ')
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A value in words: times in UTC, `{ from, to }` as "from → to", lists joined, objects as their fields. */
export function valueText(v: unknown, date: (iso: string) => string): string {
  if (v === null || v === undefined || v === '') return 'none';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'string') return ISO.test(v) ? date(v) : v;
  if (typeof v === 'number') return v.toLocaleString('en');
  if (Array.isArray(v)) return v.length ? v.map((x) => valueText(x, date)).join(', ') : 'none';
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('from' in o && 'to' in o) return `${valueText(o.from, date)} → ${valueText(o.to, date)}`;
    return Object.entries(o)
      .map(([k, x]) => `${labelOf(k)} ${valueText(x, date)}`)
      .join('; ');
  }
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects returned above: only a bigint, symbol or function gets here
  return String(v);
}

/** An event's metadata as labelled values (never contains secrets: the API never records them). */
export function auditDetails(m: Record<string, unknown>, date: (iso: string) => string): Array<{ label: string; value: string }> {
  return Object.entries(m ?? {})
    .filter(([k, v]) => v !== null && v !== undefined && !SHOWN_ELSEWHERE.has(k))
    .slice(0, 12)
    .map(([k, v]) => ({ label: labelOf(k), value: valueText(v, date) }));
}

/** Who acted, in words: a service token by its name (access decisions), else the actor's type and id. */
export function actorLabel(e: AuditEntry): { name: string; kind: string } {
  if (e.actor.type === 'service_token') {
    const name = typeof e.metadata?.tokenName === 'string' ? e.metadata.tokenName : null;
    return { name: name ?? e.actor.id, kind: name ? 'service token' : 'unknown service token' };
  }
  if (e.actor.type === 'admin') return { name: 'Admin', kind: e.actor.id && e.actor.id !== 'admin' ? e.actor.id : 'admin token' };
  return { name: e.actor.type.charAt(0).toUpperCase() + e.actor.type.slice(1), kind: e.actor.id };
}

/** The token an event is about (its own changes, or the access decision it was presented in), even once deleted. */
export function tokenOf(e: AuditEntry): { id: string; name: string } | null {
  if (e.resource.type === 'service_token' && e.resource.id) return { id: e.resource.id, name: e.resource.name ?? e.resource.id };
  const id = typeof e.metadata?.tokenId === 'string' ? e.metadata.tokenId : null;
  if (!id) return null;
  return { id, name: typeof e.metadata?.tokenName === 'string' ? e.metadata.tokenName : id };
}
