import { randomUUID } from 'node:crypto';
import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { DomainError } from '@gatehouse/contracts';
import type { Response } from 'express';
import { failure } from './envelope.js';
import { HttpProblem, statusOf } from './http-errors.js';

/** Every error leaves the API in the v4 envelope; details name the field; no stack, no SQL. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body } = this.describe(exception);
    if (res.headersSent) return;
    res.status(status).json(body);
  }

  private describe(exception: unknown) {
    if (exception instanceof DomainError) {
      const { status, cfCode } = statusOf(exception.code);
      const messages = exception.details?.length ? exception.details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)) : [exception.message];
      return { status, body: failure(cfCode, messages) };
    }
    if (exception instanceof HttpProblem) {
      return { status: exception.status, body: failure(exception.cfCode, [exception.message]) };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const message = status === 404 ? 'No route matches this method and path' : exception.message;
      return { status, body: failure(status === 404 ? 7003 : 10000 + status, [message]) };
    }
    const errorId = randomUUID();
    this.logger.error(`Unhandled error ${errorId}: ${exception instanceof Error ? exception.stack : String(exception)}`);
    return { status: 500, body: failure(10500, [`Internal error (errorId ${errorId})`]) };
  }
}
