import type { z } from 'zod';
import type { ErrorCode } from './errors.js';

/** A request/reply subject, defined once as data and validated on both sides. */
export interface RpcContract<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly kind: 'rpc';
  readonly subject: string;
  readonly request: Req;
  readonly response: Res;
  readonly errors: readonly ErrorCode[];
}

/** A fact published on NATS (at most once; consumers heal gaps by resync). */
export interface EventContract<P extends z.ZodType = z.ZodType> {
  readonly kind: 'event';
  readonly subject: string;
  readonly payload: P;
}

export function defineRpc<Req extends z.ZodType, Res extends z.ZodType>(def: {
  subject: string;
  request: Req;
  response: Res;
  errors?: readonly ErrorCode[];
}): RpcContract<Req, Res> {
  return { kind: 'rpc', errors: [], ...def };
}

export function defineEvent<P extends z.ZodType>(def: { subject: string; payload: P }): EventContract<P> {
  return { kind: 'event', ...def };
}

export type RequestOf<C extends RpcContract> = z.input<C['request']>;
export type ResponseOf<C extends RpcContract> = z.infer<C['response']>;
export type PayloadOf<C extends EventContract> = z.infer<C['payload']>;
/** What a publisher may send (before defaults are applied). */
export type PayloadInputOf<C extends EventContract> = z.input<C['payload']>;

const registry: Array<RpcContract | EventContract> = [];
/** Every contract registers itself so a test can check each subject has a handler. */
export function register<T extends RpcContract | EventContract>(contract: T): T {
  if (registry.some((c) => c.subject === contract.subject)) {
    throw new Error(`Subject defined twice: ${contract.subject}`);
  }
  registry.push(contract);
  return contract;
}
export function allContracts(): ReadonlyArray<RpcContract | EventContract> {
  return registry;
}
