import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { AccessDecisionsRecorded, type PayloadOf } from '@gatehouse/contracts';
import { ContractPipe } from '@gatehouse/nest-kit';
import { AuditRepository } from './audit.repository.js';
import type { AuditEntry } from './ledger.js';

type Decision = PayloadOf<typeof AccessDecisionsRecorded>['decisions'][number];

/** Rows per INSERT: 9 columns × 1000 rows stays well under PostgreSQL's 65,535 bind parameters. */
const CHUNK = 1000;

/** One audit line per gateway decision. Never carries a secret or a JWT (the payload has neither). */
export function toAuditEntry(d: Decision): AuditEntry {
  return {
    accountId: d.accountId,
    action: d.decision === 'allow' ? 'access.allowed' : 'access.denied',
    actor: { type: 'service_token', id: d.clientId ?? 'unknown' },
    resourceType: 'access_app',
    resourceId: d.appId,
    resourceName: d.appName,
    occurredAt: new Date(d.occurredAt),
    metadata: { tokenId: d.tokenId, tokenName: d.tokenName, reason: d.reason, sourceIp: d.sourceIp, via: d.via, count: d.count },
  };
}

/** Appends the gateway's batched access decisions to the audit log, a multi-row insert per chunk. */
@Controller()
export class AccessDecisionsHandler {
  constructor(@Inject(AuditRepository) private readonly audit: AuditRepository) {}

  @EventPattern<string>(AccessDecisionsRecorded.subject)
  async record(@Payload(new ContractPipe(AccessDecisionsRecorded.payload)) event: PayloadOf<typeof AccessDecisionsRecorded>) {
    const entries = event.decisions.map(toAuditEntry);
    for (let i = 0; i < entries.length; i += CHUNK) await this.audit.appendMany(entries.slice(i, i + CHUNK));
  }
}
