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

  it('GATEHOUSE_FORWARD_AUTH_HEADERS is auto, nginx, traefik or envoy (default auto); GATEHOUSE_HEALTH_DETAILS is off by default', () => {
    expect(loadEnv(base)).toMatchObject({ GATEHOUSE_FORWARD_AUTH_HEADERS: 'auto', GATEHOUSE_HEALTH_DETAILS: false });
    for (const mode of ['auto', 'nginx', 'traefik', 'envoy'])
      expect(loadEnv({ ...base, GATEHOUSE_FORWARD_AUTH_HEADERS: mode }).GATEHOUSE_FORWARD_AUTH_HEADERS).toBe(mode);
    expect(() => loadEnv({ ...base, GATEHOUSE_FORWARD_AUTH_HEADERS: 'haproxy' })).toThrow(/GATEHOUSE_FORWARD_AUTH_HEADERS/);
    expect(loadEnv({ ...base, GATEHOUSE_HEALTH_DETAILS: 'true' }).GATEHOUSE_HEALTH_DETAILS).toBe(true);
    expect(() => loadEnv({ ...base, GATEHOUSE_HEALTH_DETAILS: 'yes' })).toThrow(/GATEHOUSE_HEALTH_DETAILS/);
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
