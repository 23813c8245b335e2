import { AccountEntity } from '../accounts/account.entity.js';
import { ApplicationEntity } from '../applications/application.entity.js';
import { PolicyEntity } from '../applications/policy.entity.js';
import { AppPolicyLinkEntity, ReusablePolicyEntity } from '../applications/reusable-policy.entity.js';
import { AuditEventEntity } from '../audit/audit-event.entity.js';
import { ServiceTokenCountEntity } from '../tokens/token-count.entity.js';
import { ServiceTokenEntity } from '../tokens/token.entity.js';
import { OrganizationEntity } from '../organizations/organization.entity.js';
import { ReplicationStateEntity } from './revision.entity.js';
import { TombstoneEntity } from './tombstone.entity.js';

export const entities = [
  AccountEntity,
  ServiceTokenEntity,
  AuditEventEntity,
  ReplicationStateEntity,
  ApplicationEntity,
  PolicyEntity,
  TombstoneEntity,
  ServiceTokenCountEntity,
  ReusablePolicyEntity,
  AppPolicyLinkEntity,
  OrganizationEntity,
];
