import { randomUUID } from 'node:crypto';
import type { DynamicModule } from '@nestjs/common';
import { createLogger, type LoggerSettings } from '@gatehouse/observability';
import { LoggerModule } from 'nestjs-pino';

export { Logger as PinoLogger } from 'nestjs-pino';

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
