/**
 * Cloudflare-shaped resources as the API returns them: the API's own response schemas, through
 * the types generated from its OpenAPI document (api-schema.gen.ts; see docs/api.md).
 */
export type {
  AccessApp,
  AccessKeys as SigningKeys,
  Organization as AccessOrganization,
  AccessPolicy,
  AlertHistoryItem,
  AlertPolicy,
  AuditEntry,
  PolicyRule,
  ReusablePolicy,
  ServiceToken,
  ServiceTokenWithSecret,
  TokenPolicy,
  WebhookDestination,
} from './api-schema.gen';
