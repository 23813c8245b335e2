import { randomUUID } from 'node:crypto';
import { Catch, Logger, type RpcExceptionFilter } from '@nestjs/common';
import { DomainError, type ErrorShape } from '@gatehouse/contracts';
import { throwError, type Observable } from 'rxjs';

/**
 * The one exception filter of every microservice: a DomainError crosses NATS as its shape;
 * anything else is logged here with an errorId and crosses as INTERNAL, without stack or SQL.
 */
@Catch()
export class RpcErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('RpcErrorFilter');

  catch(exception: unknown): Observable<never> {
    return throwError(() => toErrorShape(exception, this.logger));
  }
}

export function toErrorShape(exception: unknown, logger: Logger): ErrorShape {
  if (exception instanceof DomainError) return exception.toShape();
  const errorId = randomUUID();
  logger.error(`Unhandled error ${errorId}: ${exception instanceof Error ? exception.stack : String(exception)}`);
  return { code: 'INTERNAL', message: `Internal error (errorId ${errorId})`, errorId };
}
