import { Injectable, Logger } from '@nestjs/common';
import { ApplicationChangedEvent, PolicyChangedEvent, type AppChanged, type PolicyChanged } from '@gatehouse/contracts';
import { RpcClient } from '@gatehouse/nest-kit';

/**
 * Announces committed app and policy changes on NATS, after the commit. A publish that fails is
 * logged, not retried: replicas see the revision gap and resync.
 */
export interface AppChangePublisher {
  appChanged(event: AppChanged): Promise<void>;
  policyChanged(event: PolicyChanged): Promise<void>;
}

@Injectable()
export class NatsAppChangePublisher implements AppChangePublisher {
  private readonly logger = new Logger('AppChangePublisher');

  constructor(private readonly rpc: RpcClient) {}

  async appChanged(event: AppChanged): Promise<void> {
    try {
      await this.rpc.publish(ApplicationChangedEvent, event);
    } catch (error) {
      this.logger.warn(`Could not publish app ${event.kind} (revision ${event.revision}): ${(error as Error).message}`);
    }
  }

  async policyChanged(event: PolicyChanged): Promise<void> {
    try {
      await this.rpc.publish(PolicyChangedEvent, event);
    } catch (error) {
      this.logger.warn(`Could not publish policy ${event.kind} (revision ${event.revision}): ${(error as Error).message}`);
    }
  }
}
