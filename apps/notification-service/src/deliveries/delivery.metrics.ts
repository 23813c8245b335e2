import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from '@gatehouse/observability';
import { CLOCK, type Clock } from '@gatehouse/nest-kit';
import { OutboxRepository } from './outbox.repository.js';

export type DeliveryResult = 'sent' | 'retry' | 'failed';

/** What the scheduler reports about each delivery attempt. */
export interface DeliveryObserver {
  attempted(mechanism: 'email' | 'webhook', result: DeliveryResult): void;
}

/**
 * The notification service's series: deliveries by mechanism and result (counted as they
 * happen), outbox depth and the oldest due delivery's age (read from the outbox at each scrape).
 */
@Injectable()
export class DeliveryMetrics implements DeliveryObserver {
  private readonly deliveries: Counter<'mechanism' | 'result'>;

  constructor(registry: Registry, @Inject(OutboxRepository) outbox: Pick<OutboxRepository, 'backlog'>, @Inject(CLOCK) clock: Clock) {
    this.deliveries = new Counter({
      name: 'gatehouse_alert_deliveries_total',
      help: 'Alert delivery attempts by mechanism (email, webhook) and result (sent; retry: failed, will retry; failed: gave up)',
      labelNames: ['mechanism', 'result'],
      registers: [registry],
    });
    let backlog: Promise<{ depth: number; oldestDueAt: Date | null }> | undefined;
    // One query serves both gauges of a scrape; a failed query leaves the last values.
    const read = () => (backlog ??= outbox.backlog(clock.now()).finally(() => setImmediate(() => (backlog = undefined))));
    new Gauge({
      name: 'gatehouse_alert_outbox_depth',
      help: 'Alert deliveries waiting to be sent (pending or being sent)',
      registers: [registry],
      async collect() {
        await read().then(
          (b) => this.set(b.depth),
          () => undefined,
        );
      },
    });
    new Gauge({
      name: 'gatehouse_alert_outbox_oldest_pending_age_seconds',
      help: 'How long the oldest unsent alert delivery has been due (0 when none is)',
      registers: [registry],
      async collect() {
        await read().then(
          (b) => this.set(b.oldestDueAt ? Math.max(0, (clock.now().getTime() - b.oldestDueAt.getTime()) / 1000) : 0),
          () => undefined,
        );
      },
    });
  }

  attempted(mechanism: 'email' | 'webhook', result: DeliveryResult): void {
    this.deliveries.inc({ mechanism, result });
  }
}
