import { DAY_MS, dailyCounts, describeDuration, domainError, durationError, emailError, recipientErrors, relativeTime, tokenStatus, urlError } from './format';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('tokenStatus', () => {
  it('names each state, disabled first', () => {
    expect(tokenStatus({ enabled: true, expires_at: null }, NOW)).toBe('active');
    expect(tokenStatus({ enabled: true, expires_at: iso(NOW + 90 * DAY_MS) }, NOW)).toBe('active');
    expect(tokenStatus({ enabled: true, expires_at: iso(NOW + 3 * DAY_MS) }, NOW)).toBe('expiring soon');
    expect(tokenStatus({ enabled: true, expires_at: iso(NOW - 1000) }, NOW)).toBe('expired');
    expect(tokenStatus({ enabled: false, expires_at: iso(NOW - 1000) }, NOW)).toBe('disabled');
  });
});

describe('relativeTime', () => {
  it('speaks in the largest fitting unit', () => {
    expect(relativeTime(iso(NOW + 3 * DAY_MS), NOW)).toBe('in 3 days');
    expect(relativeTime(iso(NOW - 5 * 60_000), NOW)).toBe('5 minutes ago');
    expect(relativeTime(iso(NOW + 365 * DAY_MS), NOW)).toBe('next year');
    expect(relativeTime(iso(NOW + 2000), NOW)).toBe('now');
  });
});

describe('durationError (same rules as the API)', () => {
  it.each(['8760h', '1h30m', '90s', '1.5h', 'forever'])('accepts %s', (d) => expect(durationError(d)).toBeNull());
  it.each([
    ['', /Enter a duration/],
    ['1 year', /hours, minutes or seconds/],
    ['-5h', /negative/],
    ['500ms', /At least 1s/],
    ['900000h', /876000h/],
  ])('rejects %j', (d, msg) => expect(durationError(d)).toMatch(msg));
});

describe('describeDuration', () => {
  it('reads presets in words', () => {
    expect(describeDuration('8760h')).toBe('1 year');
    expect(describeDuration('17520h')).toBe('2 years');
    expect(describeDuration('720h')).toBe('30 days');
    expect(describeDuration('5h')).toBe('5 hours');
    expect(describeDuration('forever')).toBe('Non-expiring');
    expect(describeDuration('1h30m')).toBe('1h30m');
  });
});

describe('form validators', () => {
  it('emails', () => {
    expect(emailError('ops@example.com')).toBeNull();
    expect(emailError('ops@example')).toMatch(/not an email/);
    expect(emailError('a b@example.com')).toMatch(/not an email/);
    expect(emailError('')).toMatch(/Enter an email/);
  });
  it('recipient lists: empty rows, bad rows and duplicates', () => {
    expect(recipientErrors([''])).toEqual([null]);
    expect(recipientErrors(['a@example.com', 'A@Example.com', '', 'x'])).toEqual([
      null,
      'This recipient is listed twice.',
      'Enter an email address or remove this recipient.',
      expect.stringMatching(/not an email/),
    ]);
  });
  it('URLs', () => {
    expect(urlError('https://hooks.example.com/x')).toBeNull();
    expect(urlError('ftp://x.example')).toMatch(/http:\/\/ or https:\/\//);
    expect(urlError('https://u:p@x.example')).toMatch(/user name or password/);
    expect(urlError('not a url')).toMatch(/not a URL/);
    expect(urlError('', { required: false })).toBeNull();
  });
  it('domains', () => {
    expect(domainError('api.example.com')).toBeNull();
    expect(domainError('example.com/api')).toBeNull();
    expect(domainError('https://api.example.com')).toMatch(/Leave out the scheme/);
    expect(domainError('bad_host!')).toMatch(/host name/);
  });
});

describe('dailyCounts', () => {
  it('buckets by local day, ignoring the out-of-range', () => {
    const counts = dailyCounts([NOW, NOW, NOW - DAY_MS, NOW - 30 * DAY_MS, NOW + 2 * DAY_MS], 7, NOW);
    expect(counts).toHaveLength(7);
    expect(counts[6]).toBe(2);
    expect(counts[5]).toBe(1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(3);
  });
});

describe('relativeTime near unit edges', () => {
  it('reads a year minus a few seconds as next year, and 40 days in days', () => {
    expect(relativeTime(iso(NOW + 365 * DAY_MS - 5000), NOW)).toBe('next year');
    expect(relativeTime(iso(NOW + 40 * DAY_MS), NOW)).toBe('in 6 weeks');
    expect(relativeTime(iso(NOW + 10 * DAY_MS), NOW)).toBe('in 10 days');
    expect(relativeTime(iso(NOW - 2 * 3_600_000), NOW)).toBe('2 hours ago');
  });
});
