import { z } from 'zod';

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export const FOREVER = 'forever';
export const DEFAULT_DURATION = '8760h';
/** Shortest lifetime we accept: anything shorter is a typo, not a credential. */
export const MIN_DURATION_MS = 1000;
/** Longest finite lifetime (100 years); beyond that, say `forever`. */
export const MAX_DURATION_MS = 876_000 * 3_600_000;

const GO_DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;

/**
 * Parses a Go-style duration (`8760h`, `1h30m`, `90s`, `1.5h`) into milliseconds, or returns
 * null for `forever`. Throws a RangeError with a readable message for anything else.
 */
export function parseDuration(input: string): number | null {
  const text = input.trim();
  if (text === FOREVER) return null;
  if (text.startsWith('-')) throw new RangeError('must not be negative');
  if (!GO_DURATION.test(text)) {
    throw new RangeError('must be a duration such as "8760h", "30m" or "1h30m" (units ns, us, ms, s, m, h), or "forever"');
  }
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit!]!;
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) throw new RangeError('must be at most 876000h (100 years); use "forever" for no expiry');
  if (ms < MIN_DURATION_MS) throw new RangeError('must be at least 1s');
  return Math.round(ms);
}

/** A duration string as the API accepts it; the parsed value is checked, the text kept. */
export const Duration = z
  .string()
  .max(64, 'must be at most 64 characters')
  .superRefine((value, ctx) => {
    try {
      parseDuration(value);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  })
  .transform((value) => value.trim());

/** expires_at for a token of this duration, counted from `from`; null for forever. */
export function expiryFrom(from: Date, duration: string): Date | null {
  const ms = parseDuration(duration);
  return ms === null ? null : new Date(from.getTime() + ms);
}
