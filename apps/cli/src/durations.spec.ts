import { ExitCode } from './errors.js';
import { apiDuration, parseCliDuration } from './durations.js';

describe('command-line durations', () => {
  it('reads Go durations, days and weeks', () => {
    expect(parseCliDuration('90s', 'x')).toBe(90_000);
    expect(parseCliDuration('1h30m', 'x')).toBe(5_400_000);
    expect(parseCliDuration('7d', 'x')).toBe(7 * 86_400_000);
    expect(parseCliDuration('1w1d', 'x')).toBe(8 * 86_400_000);
    expect(parseCliDuration('1.5h', 'x')).toBe(5_400_000);
  });

  it('refuses anything else as a usage error naming the option', () => {
    for (const bad of ['', '7', 'soon', '-1h', '0s', '1y']) {
      let caught: unknown;
      try {
        parseCliDuration(bad, '--grace');
      } catch (e) {
        caught = e;
      }
      expect(caught).toMatchObject({ exitCode: ExitCode.USAGE, message: expect.stringContaining('--grace') });
    }
  });

  it('turns days into hours for the API and leaves the rest to it', () => {
    expect(apiDuration('30d')).toBe('720h');
    expect(apiDuration('1w')).toBe('168h');
    expect(apiDuration('720h')).toBe('720h');
    expect(apiDuration('forever')).toBe('forever');
    expect(apiDuration('nonsense')).toBe('nonsense');
  });
});
