import { z } from 'zod';
import { Actor, IsoDate, Uuid } from './common.js';
import { defineEvent, defineRpc, register } from './rpc.js';
import { Duration } from './duration.js';

/**
 * The Access organization of an account (Cloudflare's `access/organizations`): one per account,
 * owned by the token service, replicated to the gateway with the apps (its `strictServiceTokenAuth`
 * changes how the gateway answers service-token requests). An account that never saved one has
 * the defaults below.
 */
export const InactivityAction = z.enum(['disable', 'delete'], { message: 'must be "disable" or "delete"' });
export const ServiceTokenInactivity = z.object({
  enabled: z.boolean(),
  /** Days without use (last_seen_at, else created_at) after which `action` applies: 30–365. */
  inactivityThresholdDays: z.number().int().min(30, 'must be at least 30').max(365, 'must be at most 365'),
  action: InactivityAction,
});
export type ServiceTokenInactivity = z.infer<typeof ServiceTokenInactivity>;

export const Organization = z.object({
  accountId: Uuid,
  name: z.string(),
  authDomain: z.string().nullable(),
  sessionDuration: z.string(),
  strictServiceTokenAuth: z.boolean(),
  serviceTokenInactivity: ServiceTokenInactivity,
  createdAt: IsoDate.nullable(),
  updatedAt: IsoDate.nullable(),
});
export type Organization = z.infer<typeof Organization>;

const SessionDuration = Duration.refine((d) => d !== 'forever', 'must be a finite duration such as "24h" or "30m"');

export const DEFAULT_INACTIVITY: ServiceTokenInactivity = { enabled: false, inactivityThresholdDays: 90, action: 'disable' };
export const DEFAULT_ORG_SESSION_DURATION = '24h';

export const AuthDomain = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/, 'must be a host name such as "team.example.com"');

export const GetOrganization = register(
  defineRpc({ subject: 'organizations.v1.get', request: z.strictObject({ accountId: Uuid }), response: Organization, errors: ['NOT_FOUND'] }),
);

/** Omitted fields keep their value; `serviceTokenInactivity` fields too (the API's PUT sends them all). */
export const UpdateOrganization = register(
  defineRpc({
    subject: 'organizations.v1.update',
    request: z.strictObject({
      accountId: Uuid,
      name: z.string().trim().min(1, 'must not be empty').max(255).optional(),
      authDomain: AuthDomain.nullable().optional(),
      sessionDuration: SessionDuration.optional(),
      strictServiceTokenAuth: z.boolean().optional(),
      serviceTokenInactivity: ServiceTokenInactivity.partial().optional(),
      actor: Actor,
    }),
    response: Organization,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
);

export const OrganizationChanged = z.object({ revision: z.number().int(), occurredAt: IsoDate, organization: Organization });
export type OrganizationChanged = z.infer<typeof OrganizationChanged>;
export const OrganizationChangedEvent = register(defineEvent({ subject: 'organizations.v1.changed', payload: OrganizationChanged }));

/** The gateway's view of an organization: only what changes its decisions. */
export function isStrict(org: Pick<Organization, 'strictServiceTokenAuth'> | undefined): boolean {
  return org?.strictServiceTokenAuth === true;
}
