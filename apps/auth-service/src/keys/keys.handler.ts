import { Controller, Inject, Injectable } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { DomainError, GetSigningKeys, RotateSigningKeys, UpdateSigningKeys, type RequestOf, type SigningKeysStatus } from '@gatehouse/contracts';
import { ContractPipe } from '@gatehouse/nest-kit';
import { GATEWAY_LOG } from '../replica/replica-sync.js';
import { KeyRing } from './key-ring.js';

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
@Injectable()
export class SigningKeysHandler {
  constructor(
    @Inject(KeyRing) private readonly ring: Pick<KeyRing, 'status' | 'rotateNow' | 'setRotationInterval' | 'ready'>,
    @Inject(GATEWAY_LOG) private readonly log: { log(msg: string): void },
  ) {}

  /**
   * A gateway answers these only once it has loaded the stored keys: the queue group is joined
   * while they load, and one that cannot open them (a wrong GATEHOUSE_KEY_ENCRYPTION_KEY) must
   * never store a key sealed with its key, which no other gateway could open.
   */
  private async loaded(): Promise<void> {
    try {
      await this.ring.ready;
    } catch {
      throw new DomainError('UNAVAILABLE', 'This gateway could not load the signing keys; another gateway can answer');
    }
  }

  async get(): Promise<SigningKeysStatus> {
    await this.loaded();
    return toSigningKeysStatus(await this.ring.status());
  }

  async update(req: RequestOf<typeof UpdateSigningKeys>): Promise<SigningKeysStatus> {
    await this.loaded();
    await this.ring.setRotationInterval(req.keyRotationIntervalDays * DAY_MS);
    this.log.log(`Signing key rotation interval set to ${req.keyRotationIntervalDays} days by ${req.actor.type}:${req.actor.id}`);
    return this.get();
  }

  async rotate(req: RequestOf<typeof RotateSigningKeys>): Promise<SigningKeysStatus> {
    await this.loaded();
    await this.ring.rotateNow();
    const status = await this.get();
    this.log.log(`Signing key ${status.keys[0]?.kid} created by ${req.actor.type}:${req.actor.id}; signs from ${status.keys[0]?.activatesAt}`);
    return status;
  }
}

/**
 * Answers keys.v1.* over the Nest NATS transport: one gateway replica of the queue group answers;
 * requests are validated by their contract (ContractPipe), responses by the handler's types.
 */
@Controller()
export class SigningKeysController {
  constructor(@Inject(SigningKeysHandler) private readonly handler: SigningKeysHandler) {}

  @MessagePattern(GetSigningKeys.subject, { queue: KEYS_QUEUE })
  get(@Payload(new ContractPipe(GetSigningKeys.request)) _req: RequestOf<typeof GetSigningKeys>): Promise<SigningKeysStatus> {
    return this.handler.get();
  }

  @MessagePattern(UpdateSigningKeys.subject, { queue: KEYS_QUEUE })
  update(@Payload(new ContractPipe(UpdateSigningKeys.request)) req: RequestOf<typeof UpdateSigningKeys>): Promise<SigningKeysStatus> {
    return this.handler.update(req);
  }

  @MessagePattern(RotateSigningKeys.subject, { queue: KEYS_QUEUE })
  rotate(@Payload(new ContractPipe(RotateSigningKeys.request)) req: RequestOf<typeof RotateSigningKeys>): Promise<SigningKeysStatus> {
    return this.handler.rotate(req);
  }
}
