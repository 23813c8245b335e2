import { loadEnv } from './env.js';

const base = { NATS_URL: 'nats://127.0.0.1:4222', DATABASE_URL: 'postgres://u@127.0.0.1:5432/db', GATEHOUSE_HASH_KEY: 'k'.repeat(32) };

describe('auth-service environment', () => {
  it('takes GATEHOUSE_ACCESS_LOG_REPLICAS from 1 to 5, and leaves it unset by default', () => {
    expect(loadEnv(base).GATEHOUSE_ACCESS_LOG_REPLICAS).toBeUndefined();
    expect(loadEnv({ ...base, GATEHOUSE_ACCESS_LOG_REPLICAS: '3' }).GATEHOUSE_ACCESS_LOG_REPLICAS).toBe(3);
    for (const bad of ['0', '6', 'three', '1.5']) {
      expect(() => loadEnv({ ...base, GATEHOUSE_ACCESS_LOG_REPLICAS: bad })).toThrow(/GATEHOUSE_ACCESS_LOG_REPLICAS/);
    }
  });

  it.each([
    ['GATEHOUSE_UPSTREAM_MAX_CONNECTIONS', 512],
    ['GATEHOUSE_MAX_TUNNELS', 10_000],
  ] as const)('takes %s as a positive integer (default %d)', (name, byDefault) => {
    expect(loadEnv(base)[name]).toBe(byDefault);
    expect(loadEnv({ ...base, [name]: '7' })[name]).toBe(7);
    for (const bad of ['0', '-1', 'many', '1.5']) expect(() => loadEnv({ ...base, [name]: bad })).toThrow(new RegExp(name));
  });
});
