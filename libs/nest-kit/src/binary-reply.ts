import { IncomingResponseDeserializer, NatsResponseJSONDeserializer } from '@nestjs/microservices';
import { NatsRecordSerializer } from '@nestjs/microservices/serializers/nats-record.serializer.js';

/**
 * Replies that carry bytes (replica.v3's token rows) travel as the bytes themselves instead of
 * inside the JSON: a JSON text never starts with a NUL byte, so a reply that does is a frame
 *
 *   0x00 | u8 n | the field's name (n bytes, UTF-8) | u32 m | the reply's JSON (m bytes) | the bytes
 *
 * where the JSON is the Nest packet without that field of `response`, and the rest of the message
 * is its value. Base64 inside JSON cost a third more bytes on the wire, and a quarter-megabyte
 * string made and parsed on both sides of every page: in the gateway those strings were old-space
 * garbage, and a million-token cold start ran 80-odd full garbage collections.
 *
 * Only a reply whose `response` holds a Uint8Array at its top level is framed; every other message
 * is Nest's JSON, byte for byte. Clients read both.
 */
const FRAME = 0x00;

/** The Nest reply packet framed around the first Uint8Array field of its response; null when it has none. */
export function encodeBinaryReply(packet: { id?: string; response?: unknown; isDisposed?: boolean; err?: unknown }): Buffer | null {
  const response = packet.response;
  if (!response || typeof response !== 'object' || Array.isArray(response)) return null;
  const field = Object.keys(response).find((k) => (response as Record<string, unknown>)[k] instanceof Uint8Array);
  if (field === undefined) return null;
  const { [field]: bytes, ...rest } = response as Record<string, unknown>;
  const name = Buffer.from(field, 'utf8');
  if (name.length > 255) return null;
  const json = Buffer.from(JSON.stringify({ ...packet, response: rest }), 'utf8');
  const head = Buffer.allocUnsafe(2 + name.length + 4);
  head[0] = FRAME;
  head[1] = name.length;
  name.copy(head, 2);
  head.writeUInt32BE(json.length, 2 + name.length);
  return Buffer.concat([head, json, bytes as Uint8Array]);
}

/** The Nest packet of a framed reply, its bytes a copy of the frame's (the message's buffer is the NATS client's). */
export function decodeBinaryReply(data: Uint8Array): Record<string, unknown> {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length < 6 || b[0] !== FRAME) throw new Error('not a binary reply');
  const n = b[1]!;
  if (b.length < 2 + n + 4) throw new Error('binary reply cut short');
  const field = b.toString('utf8', 2, 2 + n);
  const m = b.readUInt32BE(2 + n);
  const start = 2 + n + 4;
  if (b.length < start + m) throw new Error('binary reply cut short');
  const packet = JSON.parse(b.toString('utf8', start, start + m)) as Record<string, unknown>;
  const response = packet.response;
  if (!response || typeof response !== 'object' || Array.isArray(response)) throw new Error('binary reply without a response object');
  (response as Record<string, unknown>)[field] = Buffer.from(b.subarray(start + m));
  return packet;
}

/** A server's serializer: Nest's JSON, or a frame for a reply that carries bytes. */
export class BinaryReplySerializer extends NatsRecordSerializer {
  override serialize(packet: Parameters<NatsRecordSerializer['serialize']>[0]): ReturnType<NatsRecordSerializer['serialize']> {
    const frame = encodeBinaryReply(packet as Parameters<typeof encodeBinaryReply>[0]);
    return frame ? { data: frame, headers: undefined } : super.serialize(packet);
  }
}

/** A client's deserializer: a framed reply, else Nest's JSON. */
export class BinaryReplyDeserializer extends NatsResponseJSONDeserializer {
  /** What Nest's JSON deserializer does with the parsed packet. */
  private readonly packet = new IncomingResponseDeserializer();

  override deserialize(value: { data: Uint8Array }, options?: Record<string, unknown>) {
    if (value.data.length > 0 && value.data[0] === FRAME) return this.packet.deserialize(decodeBinaryReply(value.data), options);
    return super.deserialize(value, options);
  }
}
