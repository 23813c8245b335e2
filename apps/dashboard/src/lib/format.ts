/** Pure helpers: formatting, token status and form validation (unit-tested in format.spec.ts). */

export const DAY_MS = 86_400_000;
/** A token expiring within this many days is shown as "expiring soon" (a list marker, earlier than the alert). */
export const EXPIRING_SOON_DAYS = 30;
/** Expiry alerts are sent this many days before a token expires (the API's ALERT_LEAD_MS, 7 days). */
export const ALERT_LEAD_DAYS = 7;
/** Says which is which, wherever either shows. */
export const EXPIRY_MARKS = `"Expiring soon" marks a token within ${EXPIRING_SOON_DAYS} days of its expiry; expiry alerts are sent ${ALERT_LEAD_DAYS} days before it.`;

export type TokenStatus = 'active' | 'disabled' | 'expiring soon' | 'expired';

export function tokenStatus(t: { enabled: boolean; expires_at: string | null }, now = Date.now()): TokenStatus {
  if (!t.enabled) return 'disabled';
  if (t.expires_at) {
    const at = Date.parse(t.expires_at);
    if (at <= now) return 'expired';
    if (at - now <= EXPIRING_SOON_DAYS * DAY_MS) return 'expiring soon';
  }
  return 'active';
}

/** [unit, its length, the smallest distance spoken in it] so 364.9 days still reads "next year". */
const UNITS: Array<[Intl.RelativeTimeFormatUnit, number, number]> = [
  ['year', 365 * DAY_MS, 350 * DAY_MS],
  ['month', 30 * DAY_MS, 45 * DAY_MS],
  ['week', 7 * DAY_MS, 14 * DAY_MS],
  ['day', DAY_MS, 23.5 * 3_600_000],
  ['hour', 3_600_000, 3_570_000],
  ['minute', 60_000, 59_500],
  ['second', 1000, 0],
];
const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "in 3 days", "5 minutes ago", "now". */
export function relativeTime(iso: string, now = Date.now()): string {
  const diff = Date.parse(iso) - now;
  const abs = Math.abs(diff);
  if (abs < 10_000) return 'now';
  for (const [unit, ms, from] of UNITS) {
    if (abs >= from) return rtf.format(Math.round(diff / ms), unit);
  }
  return 'now';
}

const dateFmt = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC', hourCycle: 'h23' });
const dayFmt = new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric' });
/** "Dec 1, 2026, 08:15 UTC": every time is shown in UTC, as the alert emails give it. */
export const formatDate = (iso: string) => `${dateFmt.format(new Date(iso))} UTC`;
export const formatDay = (ms: number) => dayFmt.format(new Date(ms));
export const formatCount = (n: number) => n.toLocaleString('en');

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const GO_DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const MAX_DURATION_MS = 876_000 * 3_600_000;

/** The same rules as the API's Duration (libs/contracts/src/duration.ts); returns an error text or null. */
export function durationError(input: string): string | null {
  const text = input.trim();
  if (text === 'forever') return null;
  if (!text) return 'Enter a duration, such as 720h.';
  if (text.startsWith('-')) return 'A duration must not be negative.';
  if (!GO_DURATION.test(text)) return 'Use hours, minutes or seconds, such as "720h", "36h30m" or "90s".';
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit!]!;
  if (ms > MAX_DURATION_MS) return 'At most 876000h (100 years); choose "Non-expiring" for no expiry.';
  if (ms < 1000) return 'At least 1s.';
  return null;
}

/** "8760h" → "1 year", "720h" → "30 days", "forever" → "Non-expiring"; otherwise the text itself. */
export function describeDuration(d: string): string {
  if (d === 'forever') return 'Non-expiring';
  const m = /^(\d+)h$/.exec(d);
  if (!m) return d;
  const h = Number(m[1]);
  if (h % 8760 === 0) return h === 8760 ? '1 year' : `${h / 8760} years`;
  if (h % 24 === 0) return h === 24 ? '1 day' : `${h / 24} days`;
  return h === 1 ? '1 hour' : `${h} hours`;
}

export const DURATION_PRESETS: Array<{ value: string; label: string }> = [
  { value: '8760h', label: '1 year (default)' },
  { value: '720h', label: '30 days' },
  { value: '2160h', label: '90 days' },
  { value: '4320h', label: '180 days' },
  { value: '17520h', label: '2 years' },
  { value: 'forever', label: 'Non-expiring' },
];

const EMAIL = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>".]{2,}$/;
export function emailError(input: string): string | null {
  const text = input.trim();
  if (!text) return 'Enter an email address.';
  if (text.length > 254 || !EMAIL.test(text)) return `"${text}" is not an email address (expected name@example.com).`;
  return null;
}

export function urlError(input: string, { required = true } = {}): string | null {
  const text = input.trim();
  if (!text) return required ? 'Enter a URL.' : null;
  try {
    const u = new URL(text);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'The URL must start with http:// or https://.';
    if (u.username || u.password) return 'The URL must not contain a user name or password.';
    return null;
  } catch {
    return `"${text}" is not a URL (expected https://host/path).`;
  }
}

const DOMAIN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?(?:\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$/;
export function domainError(input: string): string | null {
  const text = input.trim().toLowerCase().replace(/\/+$/, '');
  if (!text) return 'Enter the domain the application is served on.';
  if (/^[a-z]+:\/\//.test(text)) return 'Leave out the scheme: "api.example.com", not "https://api.example.com".';
  if (!DOMAIN.test(text)) return 'Use a host name with an optional path, such as "api.example.com" or "example.com/api".';
  return null;
}

export function nameError(input: string, what = 'a name'): string | null {
  const text = input.trim();
  if (!text) return `Enter ${what}.`;
  if (text.length > 255) return 'At most 255 characters.';
  return null;
}

/** Buckets timestamps into `days` daily counts ending today (index days-1 = today). */
export function dailyCounts(timestamps: number[], days: number, now = Date.now()): number[] {
  const start = startOfDay(now) - (days - 1) * DAY_MS;
  const counts = new Array<number>(days).fill(0);
  for (const t of timestamps) {
    const i = Math.floor((t - start) / DAY_MS);
    if (i >= 0 && i < days) counts[i]! += 1;
  }
  return counts;
}

export function startOfDay(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Local `datetime-local` value → ISO string (or undefined when empty/invalid). */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** Per-row errors for a list of email recipients (empty rows, bad addresses, duplicates). */
export function recipientErrors(emails: string[]): Array<string | null> {
  const seen = new Set<string>();
  return emails.map((raw) => {
    const m = raw.trim();
    if (!m) return emails.length > 1 ? 'Enter an email address or remove this recipient.' : null;
    const err = emailError(m);
    if (err) return err;
    const key = m.toLowerCase();
    if (seen.has(key)) return 'This recipient is listed twice.';
    seen.add(key);
    return null;
  });
}
