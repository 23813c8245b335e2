import { Writable } from 'node:stream';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** The services' own level names (GATEHOUSE_LOG_LEVEL), as pino levels. */
export const LOG_LEVELS = { error: 'error', warn: 'warn', log: 'info', debug: 'debug' } as const;
export type LogLevel = keyof typeof LOG_LEVELS;
export type LogFormat = 'json' | 'pretty';

/**
 * What is never written: credential headers wherever a request or response is logged, and any
 * field named like a secret (up to three levels deep). Values become "[redacted]".
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["cf-access-client-secret"]',
  'req.headers["cf-access-client-id"]',
  'req.headers["cf-access-jwt-assertion"]',
  'req.headers["cf-authorization"]',
  'res.headers["set-cookie"]',
  'res.headers["cf-access-jwt-assertion"]',
  ...['secret', 'clientSecret', 'client_secret', 'password', 'adminToken', 'token', 'jwt', 'authorization'].flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
];

/** The format when none is set: JSON unless stdout is a terminal. */
export const defaultLogFormat = (stream: { isTTY?: boolean } = process.stdout): LogFormat => (stream.isTTY ? 'pretty' : 'json');

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'severity', 'time', 'msg', 'pid', 'hostname', 'service', 'context']);

/** One JSON log line as a plain, colourless text line: `time LEVEL [service context] msg key=value…`. */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString() : text(entry.time);
  const level = LEVEL_NAMES[entry.level as number] ?? String(entry.level);
  const where = [entry.service, entry.context].filter(Boolean).join(' ');
  const rest = Object.entries(entry)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${level.padEnd(5)} [${where}] ${text(entry.msg)}${rest ? ` ${rest}` : ''}`;
}

/** A field of a parsed log line as text: strings as they are, nothing for null, the rest as JSON. */
const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

function prettyStream(out: NodeJS.WritableStream): DestinationStream {
  let buffered = '';
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) if (line) out.write(`${prettyLine(line)}\n`);
      done();
    },
  });
}

export interface LoggerSettings {
  service: string;
  level: LogLevel;
  format?: LogFormat;
  /** Defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

/** The options every Gatehouse logger shares (nestjs-pino takes them too). */
export function loggerOptions(settings: Pick<LoggerSettings, 'service' | 'level'>): LoggerOptions {
  return {
    level: LOG_LEVELS[settings.level],
    base: { service: settings.service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label, number) => ({ level: number, severity: label }) },
  };
}

/** The one logger of a service: JSON lines (or plain text lines), secrets redacted. */
export function createLogger(settings: LoggerSettings): Logger {
  const out = settings.destination ?? process.stdout;
  const format = settings.format ?? defaultLogFormat(out as { isTTY?: boolean });
  // Through the stream (not its file descriptor), so whatever wraps process.stdout sees every line.
  const stream: DestinationStream = format === 'pretty' ? prettyStream(out) : out;
  return pino(loggerOptions(settings), stream);
}
