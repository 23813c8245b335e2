import { z } from 'zod';

/**
 * Every error code that may cross NATS. The API maps each one to an HTTP status in a single
 * exhaustive switch, so adding a code here fails the API's type-check until it is mapped.
 */
export const ErrorCodes = ['VALIDATION_FAILED', 'NOT_FOUND', 'CONFLICT', 'INVALID_DURATION', 'UNAVAILABLE', 'INTERNAL'] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

export const ErrorIssue = z.object({ path: z.string(), message: z.string() });
export type ErrorIssue = z.infer<typeof ErrorIssue>;

/** The error shape that crosses NATS. Never carries a stack, SQL or a secret. */
export const ErrorShape = z.object({
  code: z.enum(ErrorCodes),
  message: z.string(),
  details: z.array(ErrorIssue).optional(),
  errorId: z.string().optional(),
});
export type ErrorShape = z.infer<typeof ErrorShape>;

/** Thrown by services (domain logic); turned into an ErrorShape at the transport edge. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorIssue[],
    readonly errorId?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  toShape(): ErrorShape {
    const shape: ErrorShape = { code: this.code, message: this.message };
    if (this.details) shape.details = this.details;
    if (this.errorId) shape.errorId = this.errorId;
    return shape;
  }

  static fromShape(shape: ErrorShape): DomainError {
    return new DomainError(shape.code, shape.message, shape.details, shape.errorId);
  }
}

/** Converts zod issues to our wire form: a dotted path and a message a person can read. */
export function issuesOf(error: z.ZodError): ErrorIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

export function validationError(error: z.ZodError, what = 'Invalid request'): DomainError {
  const details = issuesOf(error);
  const summary = details
    .slice(0, 3)
    .map((d) => (d.path ? `${d.path}: ${d.message}` : d.message))
    .join('; ');
  return new DomainError('VALIDATION_FAILED', `${what}: ${summary}`, details);
}

/** Parses with a schema, throwing a VALIDATION_FAILED DomainError that names each bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what?: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, what);
  return result.data;
}

export function assertUnreachable(value: never): never {
  throw new Error(`Unreachable: ${String(value)}`);
}
