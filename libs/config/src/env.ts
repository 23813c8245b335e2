import type { z } from 'zod';

/**
 * Parses a service's environment once at boot. On failure throws one error that lists every bad
 * key with the reason (never the value, so secrets do not reach logs).
 */
export function parseEnv<S extends z.ZodType>(schema: S, service: string, source: Record<string, string | undefined> = process.env): z.infer<S> {
  const result = schema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new Error(`${service}: invalid configuration\n${lines.join('\n')}`);
  }
  return result.data;
}
