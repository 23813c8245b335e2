import { Writable } from 'node:stream';
import { createLogger, defaultLogFormat, prettyLine, type LogFormat, type LogLevel } from './logger.js';

function capture(level: LogLevel, format: LogFormat) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _e, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ service: 'svc', level, format, destination }), lines };
}

describe('the shared logger', () => {
  it('writes one JSON object a line with service, level and time; GATEHOUSE_LOG_LEVEL maps to pino levels', () => {
    const { logger, lines } = capture('warn', 'json');
    logger.info('hidden');
    logger.warn('shown');
    logger.error({ errorId: 'e1' }, 'failed');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ service: 'svc', level: 40, severity: 'warn', msg: 'shown', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }),
      expect.objectContaining({ level: 50, msg: 'failed', errorId: 'e1' }),
    ]);
    const log = capture('log', 'json');
    log.logger.debug('no');
    log.logger.info('yes');
    expect(log.lines).toHaveLength(1);
    expect(capture('debug', 'json').logger.isLevelEnabled('debug')).toBe(true);
  });

  it('redacts credential headers and fields named like secrets', () => {
    const { logger, lines } = capture('log', 'json');
    logger.info(
      {
        req: { headers: { authorization: 'Bearer admin-xyz', 'cf-access-client-secret': 'gatehouse_s3cret', host: 'a' } },
        body: { client_secret: 'gatehouse_s3cret2', name: 'ci' },
        webhook: { config: { secret: 'whsec', password: 'pw' } },
        clientSecret: 'top',
      },
      'request',
    );
    const text = lines.join('\n');
    for (const secret of ['admin-xyz', 'gatehouse_s3cret', 'gatehouse_s3cret2', 'whsec', '"pw"', '"top"']) expect(text).not.toContain(secret);
    const entry = JSON.parse(lines[0]!);
    expect(entry.req.headers).toEqual({ authorization: '[redacted]', 'cf-access-client-secret': '[redacted]', host: 'a' });
    expect(entry.body).toEqual({ client_secret: '[redacted]', name: 'ci' });
  });

  it('pretty: plain text lines without colour codes', () => {
    const { logger, lines } = capture('log', 'pretty');
    logger.child({ context: 'Ctx' }).warn({ errorId: 'e2' }, 'something happened');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+ WARN {2}\[svc Ctx\] something happened errorId=e2$/);
    expect(lines[0]).not.toContain('\x1b');
    expect(prettyLine('not json')).toBe('not json');
  });

  it('defaults to JSON unless stdout is a terminal', () => {
    expect(defaultLogFormat({ isTTY: true })).toBe('pretty');
    expect(defaultLogFormat({ isTTY: false })).toBe('json');
    expect(defaultLogFormat({})).toBe('json');
  });
});
