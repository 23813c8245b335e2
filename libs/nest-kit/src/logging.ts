import { randomUUID } from 'node:crypto';
import type { DynamicModule, LoggerService } from '@nestjs/common';
import { createLogger, type Logger, type LoggerSettings } from '@gatehouse/observability';
import { LoggerModule } from 'nestjs-pino';

export { Logger as PinoLogger } from 'nestjs-pino';

/**
 * Nest's logger interface over a pino logger, for what Nest logs before the app (and its
 * LoggerModule) exists: start-up messages and an initialisation failure come out as JSON too.
 */
export function bootLogger(settings: LoggerSettings): LoggerService {
  const logger: Logger = createLogger(settings);
  const at =
    (level: 'info' | 'warn' | 'error' | 'debug' | 'trace') =>
    (message: unknown, ...rest: unknown[]) => {
      const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
      const text = message instanceof Error ? message.message : typeof message === 'string' ? message : JSON.stringify(message);
      logger[level]({ context }, text);
    };
  return { log: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), verbose: at('trace'), fatal: at('error') };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The one logger of a Nest service (nestjs-pino over the shared pino settings): Nest's own
 * `Logger` calls go to it once the app calls `app.useLogger(app.get(PinoLogger))`. HTTP apps also
 * log each request with its id: a well-formed `X-Request-Id` is kept, else one is made, and the
 * response carries it.
 */
export function loggingModule(settings: LoggerSettings): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: {
      logger: createLogger(settings),
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  });
}
