import { freePort } from '@gatehouse/testing';

/** The ports `npm start` (scripts/start.mjs) listens on, each moved by its own variable. */
export type StartPorts = Record<'pg' | 'nats' | 'api' | 'gateway' | 'smtp' | 'web', number>;

export async function freeStartPorts(): Promise<StartPorts> {
  return { pg: await freePort(), nats: await freePort(), api: await freePort(), gateway: await freePort(), smtp: await freePort(), web: await freePort() };
}

/** The environment of a scripts/start.mjs run on `ports`, with its own state folder unless null. */
export function startScriptEnv(ports: StartPorts, stateDir: string | null): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    ...(stateDir ? { GATEHOUSE_STATE_DIR: stateDir } : {}),
    GATEHOUSE_PG_PORT: String(ports.pg),
    GATEHOUSE_NATS_PORT: String(ports.nats),
    GATEHOUSE_API_PORT: String(ports.api),
    GATEHOUSE_GATEWAY_PORT: String(ports.gateway),
    GATEHOUSE_MAILDEV_SMTP_PORT: String(ports.smtp),
    GATEHOUSE_MAILDEV_WEB_PORT: String(ports.web),
  };
}
