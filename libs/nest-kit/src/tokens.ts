/** Injection tokens shared by every service, for what has no class of its own to stand for it. */

/** The service's connected NATS client (`ClientNats` of @nestjs/microservices), from NatsClientModule. */
export const NATS_CLIENT = Symbol('NATS_CLIENT');

/** How long an RpcClient waits for an answer (milliseconds); RpcClient's default without it. */
export const RPC_TIMEOUT_MS = Symbol('RPC_TIMEOUT_MS');

/** Where a service reads time. Injected so tests can move it forward (no sleeping for days). */
export interface Clock {
  now(): Date;
}
export const CLOCK = Symbol('CLOCK');
export const systemClock: Clock = { now: () => new Date() };
