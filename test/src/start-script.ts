import { freePort } from '@gatehouse/testing';

/** The ports `npm start` (scripts/start.mjs) listens on, each moved by its own variable. */
export type StartPorts = Record<
  'pg' | 'nats' | 'api' | 'gateway' | 'smtp' | 'web' | 'apiManagement' | 'gatewayManagement' | 'tokenManagement' | 'notificationManagement',
  number
>;

export async function freeStartPorts(): Promise<StartPorts> {
  return {
    pg: await freePort(),
    nats: await freePort(),
    api: await freePort(),
    gateway: await freePort(),
    smtp: await freePort(),
    web: await freePort(),
    apiManagement: await freePort(),
    gatewayManagement: await freePort(),
    tokenManagement: await freePort(),
    notificationManagement: await freePort(),
  };
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
    GATEHOUSE_API_MANAGEMENT_PORT: String(ports.apiManagement),
    GATEHOUSE_GATEWAY_MANAGEMENT_PORT: String(ports.gatewayManagement),
    GATEHOUSE_TOKEN_SERVICE_MANAGEMENT_PORT: String(ports.tokenManagement),
    GATEHOUSE_NOTIFICATION_SERVICE_MANAGEMENT_PORT: String(ports.notificationManagement),
  };
}
