import { Duration, expiryFrom, parseDuration } from './duration.js';

describe('Go-style durations', () => {
  it.each([
    ['8760h', 8760 * 3_600_000],
    ['30m', 1_800_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['90s', 90_000],
    ['1500ms', 1500],
    [' 2h ', 7_200_000],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('treats forever as no expiry', () => {
    expect(parseDuration('forever')).toBeNull();
    expect(expiryFrom(new Date(0), 'forever')).toBeNull();
    expect(expiryFrom(new Date(0), '1h')).toEqual(new Date(3_600_000));
  });

  it.each([
    ['-5h', /negative/],
    ['soon', /duration such as/],
    ['5', /duration such as/],
    ['5d', /duration such as/],
    ['h', /duration such as/],
    ['', /duration such as/],
    ['0s', /at least 1s/],
    ['999ms', /at least 1s/],
    ['876001h', /at most/],
    ['99999999999999999999h', /at most/],
  ])('rejects %s with a readable reason', (text, reason) => {
    expect(() => parseDuration(text)).toThrow(reason);
    const result = Duration.safeParse(text);
    expect(result.success).toBe(false);
  });

  it('limits the text length', () => {
    expect(Duration.safeParse('1h'.repeat(40)).success).toBe(false);
  });
});
