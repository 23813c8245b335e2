import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import {
  AppChanged,
  ApplicationChangedEvent,
  OrganizationChanged,
  OrganizationChangedEvent,
  PolicyChanged,
  PolicyChangedEvent,
  TokenChanged,
  TokenCreated,
  TokenDeleted,
  TokenRefreshed,
  TokenRotated,
  TokenUpdated,
} from '@gatehouse/contracts';
import { ContractPipe } from '@gatehouse/nest-kit';
import { ReplicaSync } from './replica-sync.js';

/** Every gateway needs every change (no queue group). */
const ALL = { queue: '' };
const token = new ContractPipe(TokenChanged);

/** Change events: hints that carry the record; applied at once, gaps make the follower pull. */
@Controller()
export class ReplicaEventsHandler {
  constructor(@Inject(ReplicaSync) private readonly sync: ReplicaSync) {}

  @EventPattern<string>(TokenCreated.subject, ALL)
  created(@Payload(token) payload: TokenChanged) {
    this.sync.onEvent({ type: 'token', payload });
  }

  @EventPattern<string>(TokenUpdated.subject, ALL)
  updated(@Payload(token) payload: TokenChanged) {
    this.sync.onEvent({ type: 'token', payload });
  }

  @EventPattern<string>(TokenRefreshed.subject, ALL)
  refreshed(@Payload(token) payload: TokenChanged) {
    this.sync.onEvent({ type: 'token', payload });
  }

  @EventPattern<string>(TokenRotated.subject, ALL)
  rotated(@Payload(token) payload: TokenChanged) {
    this.sync.onEvent({ type: 'token', payload });
  }

  @EventPattern<string>(TokenDeleted.subject, ALL)
  deleted(@Payload(token) payload: TokenChanged) {
    this.sync.onEvent({ type: 'token', payload });
  }

  @EventPattern<string>(ApplicationChangedEvent.subject, ALL)
  app(@Payload(new ContractPipe(AppChanged)) payload: AppChanged) {
    this.sync.onEvent({ type: 'app', payload });
  }

  @EventPattern<string>(PolicyChangedEvent.subject, ALL)
  policy(@Payload(new ContractPipe(PolicyChanged)) payload: PolicyChanged) {
    this.sync.onEvent({ type: 'policy', payload });
  }

  @EventPattern<string>(OrganizationChangedEvent.subject, ALL)
  organization(@Payload(new ContractPipe(OrganizationChanged)) payload: OrganizationChanged) {
    this.sync.onEvent({ type: 'organization', payload });
  }
}
