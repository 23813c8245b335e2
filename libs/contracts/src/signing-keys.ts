import { z } from 'zod';
import { Actor, IsoDate } from './common.js';
import { defineRpc, register } from './rpc.js';

/**
 * The JWT signing keys (Cloudflare's `access/keys`). Answered by the auth-service (the keys live in
 * its own tables) and shared by every account of this Gatehouse: the gateway signs every app's
 * JWTs with the same key ring.
 */
export const SigningKeyInfo = z.object({
  kid: z.string(),
  createdAt: IsoDate,
  activatesAt: IsoDate,
  /** `pending`: published, not signing yet; `active`: signs new JWTs; `previous`: published for the overlap. */
  state: z.enum(['pending', 'active', 'previous']),
});
export const SigningKeysStatus = z.object({
  keyRotationIntervalDays: z.number(),
  /** When the newest key was created (a rotation, scheduled or manual). */
  lastKeyRotationAt: IsoDate,
  /** When the next scheduled rotation creates a key. */
  nextKeyRotationAt: IsoDate,
  daysUntilNextRotation: z.number().int(),
  /** How long a new key is published before it signs (≥ every gateway's key refresh interval). */
  activationDelayMs: z.number().int(),
  keys: z.array(SigningKeyInfo),
});
export type SigningKeysStatus = z.infer<typeof SigningKeysStatus>;

/** Cloudflare allows 21–365 days. */
export const KeyRotationIntervalDays = z.number().int('must be a whole number of days').min(21, 'must be at least 21').max(365, 'must be at most 365');

export const GetSigningKeys = register(defineRpc({ subject: 'keys.v1.get', request: z.strictObject({}), response: SigningKeysStatus }));
export const UpdateSigningKeys = register(
  defineRpc({
    subject: 'keys.v1.update',
    request: z.strictObject({ keyRotationIntervalDays: KeyRotationIntervalDays, actor: Actor }),
    response: SigningKeysStatus,
    errors: ['VALIDATION_FAILED'],
  }),
);
/** Publishes a new key at once; it signs after `activationDelayMs` (every gateway has it by then). */
export const RotateSigningKeys = register(defineRpc({ subject: 'keys.v1.rotate', request: z.strictObject({ actor: Actor }), response: SigningKeysStatus }));
