import { Transport, type NatsOptions } from '@nestjs/microservices';

/** Options for a NATS client or server; `queue` spreads requests over replicas of a service. */
export function natsOptions(url: string, name: string, queue?: string): NatsOptions {
  return {
    transport: Transport.NATS,
    options: {
      servers: url.split(',').map((s) => s.trim()),
      name,
      ...(queue ? { queue } : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      waitOnFirstConnect: true,
    },
  };
}
