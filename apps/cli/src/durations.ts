import { usageError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/**
 * A duration on the command line: Go-style (`90s`, `1h30m`, `720h`) plus days and weeks
 * (`7d`, `2w`), as milliseconds. `what` names the option in the error.
 */
export function parseCliDuration(text: string, what: string): number {
  const value = text.trim();
  if (!WHOLE.test(value)) throw usageError(`${what} must be a duration such as 30m, 24h, 7d or 1h30m (got "${text}")`);
  let ms = 0;
  for (const [, amount, unit] of value.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit!]!;
  if (ms <= 0) throw usageError(`${what} must be longer than zero`);
  return Math.round(ms);
}

/**
 * A token lifetime for the API, which speaks Go durations (no days): `30d` becomes `720h`;
 * anything else (`8760h`, `forever`) is passed on for the API to judge.
 */
export function apiDuration(text: string): string {
  const value = text.trim();
  if (!/[dw]/.test(value) || !WHOLE.test(value)) return value;
  const ms = parseCliDuration(value, '--duration');
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 1000}s`;
}
