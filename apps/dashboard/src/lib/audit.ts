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

/** A short line from an event's metadata (never contains secrets: the API never records them). */
export function describeMetadata(m: Record<string, unknown>): string {
  return Object.entries(m ?? {})
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
    .slice(0, 6)
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join(', ');
}
