import { natsConnectionOptions, type NatsAuth } from '@gatehouse/config';
import { Transport, type NatsOptions } from '@nestjs/microservices';

/**
 * Options for a NATS client or server; `queue` spreads requests over replicas of a service;
 * `auth` carries the service's own credentials, TLS and reply-inbox prefix (see @gatehouse/config).
 */
export function natsOptions(url: string, name: string, queue?: string, auth?: NatsAuth): NatsOptions {
  return {
    transport: Transport.NATS,
    options: {
      servers: url.split(',').map((s) => s.trim()),
      name,
      ...(queue ? { queue } : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      waitOnFirstConnect: true,
      ...(auth ? natsConnectionOptions(auth) : {}),
    },
  };
}
