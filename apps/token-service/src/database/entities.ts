import { AccountEntity } from '../accounts/account.entity.js';
import { AuditEventEntity } from '../audit/audit-event.entity.js';
import { ServiceTokenEntity } from '../tokens/token.entity.js';
import { ReplicationStateEntity } from './revision.entity.js';

export const entities = [AccountEntity, ServiceTokenEntity, AuditEventEntity, ReplicationStateEntity];
