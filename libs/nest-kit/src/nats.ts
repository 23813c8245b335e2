import { natsConnectionOptions, type NatsAuth } from '@gatehouse/config';
import { Transport, type NatsOptions } from '@nestjs/microservices';
import { BinaryReplyDeserializer, BinaryReplySerializer } from './binary-reply.js';

/**
 * Options for a NATS server (a service answering requests); `queue` spreads requests over
 * replicas of a service; `auth` carries the service's own credentials, TLS and reply-inbox prefix
 * (see @gatehouse/config). Replies that carry bytes are framed (./binary-reply.ts).
 */
export function natsOptions(url: string, name: string, queue?: string, auth?: NatsAuth): NatsOptions {
  return {
    transport: Transport.NATS,
    options: {
      serializer: new BinaryReplySerializer(),
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

/** Options for a NATS client: as a server's, and it reads framed replies (./binary-reply.ts). */
export function natsClientOptions(url: string, name: string, auth?: NatsAuth): NatsOptions {
  const options = natsOptions(url, name, undefined, auth);
  return { ...options, options: { ...options.options, deserializer: new BinaryReplyDeserializer() } };
}
