import type { NatsAuth } from '@gatehouse/config';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import {
  DomainError,
  ErrorShape,
  parseOrThrow,
  type EventContract,
  type PayloadInputOf,
  type RequestOf,
  type ResponseOf,
  type RpcContract,
} from '@gatehouse/contracts';
import { TimeoutError, firstValueFrom, timeout } from 'rxjs';
import { NATS_CLIENT, RPC_TIMEOUT_MS } from './tokens.js';

/**
 * The client side of the contracts: validates the request before sending and the response after,
 * applies a timeout, and turns remote errors back into DomainErrors.
 */
@Injectable()
export class RpcClient {
  private readonly logger = new Logger('RpcClient');

  constructor(
    @Inject(NATS_CLIENT) private readonly proxy: ClientProxy,
    @Optional() @Inject(RPC_TIMEOUT_MS) private readonly timeoutMs = 5000,
  ) {}

  /**
   * `quiet`: a transport failure (no responder, a lost connection) is not logged, for a caller whose
   * answer reports it already (a health probe polled while the service it asks is still starting).
   */
  async request<C extends RpcContract>(contract: C, payload: RequestOf<C>, options?: { quiet?: boolean }): Promise<ResponseOf<C>> {
    const request = parseOrThrow(contract.request, payload);
    let response: unknown;
    try {
      response = await firstValueFrom(this.proxy.send(contract.subject, request).pipe(timeout(this.timeoutMs)));
    } catch (error) {
      throw this.remoteError(contract.subject, error, options?.quiet === true);
    }
    const parsed = contract.response.safeParse(response);
    if (!parsed.success) {
      this.logger.error(`Response on ${contract.subject} broke its contract: ${parsed.error.message}`);
      throw new DomainError('INTERNAL', `The ${contract.subject} handler answered outside its contract`);
    }
    return parsed.data as ResponseOf<C>;
  }

  /** Publishes an event after validating it. Core NATS: at most once; consumers resync. */
  async publish<E extends EventContract>(contract: E, payload: PayloadInputOf<E>): Promise<void> {
    const data = parseOrThrow(contract.payload, payload);
    await firstValueFrom(this.proxy.emit(contract.subject, data), { defaultValue: undefined });
  }

  private remoteError(subject: string, error: unknown, quiet = false): DomainError {
    if (error instanceof DomainError) return error;
    if (error instanceof TimeoutError) {
      return new DomainError('UNAVAILABLE', `No answer on ${subject} within ${this.timeoutMs} ms`);
    }
    const shape = ErrorShape.safeParse(error);
    if (shape.success) return DomainError.fromShape(shape.data);
    // Not an answer of the remote service (those arrive as ErrorShape): the transport failed —
    // no responder, a NATS server lost mid-request, a reconnect. The request may or may not have
    // been carried out, exactly as after a timeout, so it is UNAVAILABLE (retry), never INTERNAL.
    const text = error instanceof Error ? error.message : String(error);
    if (!quiet) this.logger.warn(`No answer on ${subject}: ${text}`);
    return new DomainError('UNAVAILABLE', `No service answers on ${subject}`);
  }
}

/** A connected RpcClient outside a Nest module (tests, scripts). */
export async function connectRpc(url: string, name = 'rpc-client', timeoutMs?: number, auth?: NatsAuth): Promise<RpcClient & { close(): Promise<void> }> {
  const { ClientProxyFactory } = await import('@nestjs/microservices');
  const { natsClientOptions } = await import('./nats.js');
  const proxy = ClientProxyFactory.create(natsClientOptions(url, name, auth));
  await proxy.connect();
  const rpc = new RpcClient(proxy, timeoutMs) as RpcClient & { close(): Promise<void> };
  rpc.close = async () => {
    await proxy.close();
  };
  return rpc;
}
