import { z } from 'zod';
import { parseEnv, schemaKeys } from './env.js';

describe('parseEnv', () => {
  const Env = z.object({ PORT: z.coerce.number().int().default(80), SECRET: z.string().min(32, 'must be at least 32 characters'), URL: z.string().url() });

  it('returns the typed, defaulted configuration', () => {
    expect(parseEnv(Env, 'svc', { SECRET: 's'.repeat(32), URL: 'http://x' })).toEqual({ PORT: 80, SECRET: 's'.repeat(32), URL: 'http://x' });
  });

  it('lists every bad key with its reason, never its value', () => {
    const call = () => parseEnv(Env, 'svc', { PORT: 'abc', SECRET: 'hunter2', URL: 'nope' });
    expect(call).toThrow(/^svc: invalid configuration/);
    try {
      call();
    } catch (e) {
      const message = (e as Error).message;
      expect(message).toMatch(/PORT: /);
      expect(message).toMatch(/SECRET: must be at least 32 characters/);
      expect(message).toMatch(/URL: /);
      expect(message).not.toContain('hunter2');
    }
  });
});

describe('schemaKeys', () => {
  it('lists the keys of an object schema, also behind refinements and transforms', () => {
    const base = z.object({ A: z.string(), B: z.string().optional() });
    expect(schemaKeys(base)).toEqual(['A', 'B']);
    expect(schemaKeys(base.superRefine(() => undefined).transform((e) => ({ ...e, c: 1 })))).toEqual(['A', 'B']);
    expect(() => schemaKeys(z.string())).toThrow(/not an object schema/);
  });
});
