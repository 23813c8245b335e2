import { Injectable, Logger } from '@nestjs/common';
import { TokenEventByKind, type TokenChanged } from '@gatehouse/contracts';
import { RpcClient } from '@gatehouse/nest-kit';
import type { ChangePublisher } from './change-publisher.js';

@Injectable()
export class NatsChangePublisher implements ChangePublisher {
  private readonly logger = new Logger('ChangePublisher');

  constructor(private readonly rpc: RpcClient) {}

  async tokenChanged(event: TokenChanged): Promise<void> {
    try {
      await this.rpc.publish(TokenEventByKind[event.kind], event);
    } catch (error) {
      // Committed already; replicas see the revision gap and resync.
      this.logger.warn(`Could not publish ${event.kind} (revision ${event.revision}): ${(error as Error).message}`);
    }
  }
}
