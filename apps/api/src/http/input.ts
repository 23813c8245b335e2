import { Uuid, parseOrThrow, DomainError } from '@gatehouse/contracts';
import { z } from 'zod';

/** Validates a path parameter; a malformed id is a 400 that names the parameter. */
export function uuidParam(value: string, name: string): string {
  const result = Uuid.safeParse(value);
  if (!result.success) {
    throw new DomainError('VALIDATION_FAILED', `${name} must be a UUID`, [{ path: name, message: 'must be a UUID' }]);
  }
  return result.data;
}

/** Validates a JSON body (snake_case, unknown fields rejected); missing body counts as `{}`. */
export function body<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  return parseOrThrow(schema, value ?? {}, 'Invalid request body');
}

/** Validates query parameters (strings) against a schema. */
export function query<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  return parseOrThrow(schema, value ?? {}, 'Invalid query parameters');
}

export const PageQuery = {
  page: z.coerce.number({ message: 'must be a number' }).int().min(1).max(1_000_000).default(1),
  per_page: z.coerce.number({ message: 'must be a number' }).int().min(1).max(1000).default(20),
};
