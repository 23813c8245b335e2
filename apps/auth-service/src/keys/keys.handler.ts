import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  DomainError,
  GetSigningKeys,
  RotateSigningKeys,
  UpdateSigningKeys,
  parseOrThrow,
  type RequestOf,
  type RpcContract,
  type SigningKeysStatus,
} from '@gatehouse/contracts';
import type { KeyRing } from './key-ring.js';

const DAY_MS = 86_400_000;
/** Every gateway replica may answer; one of them does (a queue group). */
export const KEYS_QUEUE = 'auth-service-keys';

type Status = Awaited<ReturnType<KeyRing['status']>>;

/** The access/keys view of the key ring's state. */
export function toSigningKeysStatus(s: Status): SigningKeysStatus {
  const newest = s.keys[0];
  if (!newest) throw new DomainError('UNAVAILABLE', 'No signing key exists yet');
  const activeIndex = s.keys.findIndex((k) => k.activatesAt <= s.now);
  const next = newest.activatesAt + s.rotationMs;
  return {
    keyRotationIntervalDays: Math.round((s.rotationMs / DAY_MS) * 1000) / 1000,
    lastKeyRotationAt: new Date(newest.createdAt).toISOString(),
    nextKeyRotationAt: new Date(next).toISOString(),
    daysUntilNextRotation: Math.max(0, Math.round((next - s.now) / DAY_MS)),
    activationDelayMs: s.leadMs,
    keys: s.keys.map((k, i) => ({
      kid: k.kid,
      createdAt: new Date(k.createdAt).toISOString(),
      activatesAt: new Date(k.activatesAt).toISOString(),
      state: activeIndex < 0 || i < activeIndex ? 'pending' : i === activeIndex ? 'active' : 'previous',
    })),
  };
}

/** The keys.v1.* requests: plain methods over the key ring (no framework). */
export class SigningKeysHandler {
  constructor(
    private readonly ring: Pick<KeyRing, 'status' | 'rotateNow' | 'setRotationInterval'>,
    private readonly log: { log(msg: string): void },
  ) {}

  async get(): Promise<SigningKeysStatus> {
    return toSigningKeysStatus(await this.ring.status());
  }

  async update(req: RequestOf<typeof UpdateSigningKeys>): Promise<SigningKeysStatus> {
    await this.ring.setRotationInterval(req.keyRotationIntervalDays * DAY_MS);
    this.log.log(`Signing key rotation interval set to ${req.keyRotationIntervalDays} days by ${req.actor.type}:${req.actor.id}`);
    return this.get();
  }

  async rotate(req: RequestOf<typeof RotateSigningKeys>): Promise<SigningKeysStatus> {
    await this.ring.rotateNow();
    const status = await this.get();
    this.log.log(`Signing key ${status.keys[0]?.kid} created by ${req.actor.type}:${req.actor.id}; signs from ${status.keys[0]?.activatesAt}`);
    return status;
  }
}

/**
 * Answers keys.v1.* on NATS in @nestjs/microservices' packet format (`{ id, response | err,
 * isDisposed }`), validating each request and response with its contract.
 */
export function serveSigningKeys(nc: NatsConnection, handler: SigningKeysHandler, onError: (e: Error) => void): Subscription[] {
  const serve = <C extends RpcContract>(contract: C, fn: (req: RequestOf<C>) => Promise<unknown>) =>
    nc.subscribe(contract.subject, {
      queue: KEYS_QUEUE,
      callback: (err, msg) => {
        if (err) return onError(err);
        let id: unknown;
        void (async () => {
          try {
            const packet = msg.json<{ id?: unknown; data?: unknown }>();
            id = packet.id;
            const req = parseOrThrow(contract.request, packet.data ?? {}) as RequestOf<C>;
            const response = parseOrThrow(contract.response, await fn(req), `${contract.subject} response`);
            msg.respond(JSON.stringify({ id, response, isDisposed: true }));
          } catch (error) {
            const shape = error instanceof DomainError ? error.toShape() : { code: 'INTERNAL', message: `${contract.subject} failed` };
            if (!(error instanceof DomainError)) onError(error as Error);
            msg.respond(JSON.stringify({ id, err: shape, isDisposed: true }));
          }
        })();
      },
    });
  return [
    serve(GetSigningKeys, () => handler.get()),
    serve(UpdateSigningKeys, (req) => handler.update(req)),
    serve(RotateSigningKeys, (req) => handler.rotate(req)),
  ];
}
