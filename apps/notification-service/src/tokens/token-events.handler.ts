import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TokenChanged, TokenCreated, TokenDeleted, TokenRefreshed, TokenRotated, TokenUpdated } from '@gatehouse/contracts';
import { ContractPipe } from '@gatehouse/nest-kit';
import { TokenReplicaService } from './token-replica.service.js';

/**
 * Token events reach every replica (no queue group: `queue: ''`): applying one is an idempotent,
 * revision-guarded upsert, and each replica needs the whole stream to see revision gaps.
 */
const ALL_REPLICAS = { queue: '' };
const pipe = new ContractPipe(TokenChanged);

@Controller()
export class TokenEventsHandler {
  constructor(@Inject(TokenReplicaService) private readonly replica: TokenReplicaService) {}

  @EventPattern<string>(TokenCreated.subject, ALL_REPLICAS)
  created(@Payload(pipe) event: TokenChanged) {
    return this.replica.onChange(event);
  }

  @EventPattern<string>(TokenUpdated.subject, ALL_REPLICAS)
  updated(@Payload(pipe) event: TokenChanged) {
    return this.replica.onChange(event);
  }

  @EventPattern<string>(TokenRefreshed.subject, ALL_REPLICAS)
  refreshed(@Payload(pipe) event: TokenChanged) {
    return this.replica.onChange(event);
  }

  @EventPattern<string>(TokenRotated.subject, ALL_REPLICAS)
  rotated(@Payload(pipe) event: TokenChanged) {
    return this.replica.onChange(event);
  }

  @EventPattern<string>(TokenDeleted.subject, ALL_REPLICAS)
  deleted(@Payload(pipe) event: TokenChanged) {
    return this.replica.onChange(event);
  }
}
