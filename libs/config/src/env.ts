import { z } from 'zod';

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

/** The variable names an env schema knows (through `.transform()`/`.pipe()`), for static checks of deployment files. */
export function schemaKeys(schema: z.ZodType): string[] {
  let s: unknown = schema;
  while (s && !(s instanceof z.ZodObject)) s = (s as { in?: unknown }).in;
  if (!s) throw new Error('schemaKeys: not an object schema');
  return Object.keys((s as z.ZodObject).shape);
}
