import 'reflect-metadata';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, MessagePattern, type ClientNats } from '@nestjs/microservices';
import { connect } from '@nats-io/transport-node';
import { startNats, type TestNats } from '@gatehouse/testing';
import { firstValueFrom } from 'rxjs';
import { decodeBinaryReply, encodeBinaryReply, natsClientOptions, natsOptions } from '../src/index.js';

const ROWS = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) & 0xff));

@Controller()
class Replies {
  @MessagePattern('test.binary')
  binary() {
    return { head: 7, rows: ROWS, note: 'é "q"' };
  }

  @MessagePattern('test.json')
  json() {
    return { head: 7, rows: 'text', nested: { b: Buffer.from('x') } };
  }
}
@Module({ controllers: [Replies] })
class RepliesModule {}

describe('replies that carry bytes (real nats-server)', () => {
  let nats: TestNats;
  let server: INestMicroservice;
  let client: ClientNats;
  beforeAll(async () => {
    nats = await startNats({ maxPayload: 262_144 });
    server = await NestFactory.createMicroservice(RepliesModule, { ...natsOptions(nats.url, 'binary-test'), logger: false });
    await server.listen();
    client = ClientProxyFactory.create(natsClientOptions(nats.url, 'binary-client')) as ClientNats;
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
    await nats?.stop();
  });

  it('sends a Uint8Array field as the bytes after the JSON, and the client gets it back as a Buffer', async () => {
    const reply = await firstValueFrom(client.send<{ head: number; rows: Buffer; note: string }>('test.binary', {}));
    expect(reply.head).toBe(7);
    expect(reply.note).toBe('é "q"');
    expect(Buffer.isBuffer(reply.rows)).toBe(true);
    expect(reply.rows.equals(ROWS)).toBe(true);
    // On the wire: the frame, with the bytes raw (no base64, no JSON array of numbers).
    const raw = await connect({ servers: nats.url });
    try {
      const m = await raw.request('test.binary', JSON.stringify({ pattern: 'test.binary', data: {}, id: '1' }));
      expect(m.data[0]).toBe(0);
      expect(m.data.length).toBeLessThan(ROWS.length + 200);
      expect((decodeBinaryReply(m.data).response as { rows: Buffer }).rows.equals(ROWS)).toBe(true);
    } finally {
      await raw.close();
    }
  });

  it('leaves every other reply as JSON (a nested Buffer included)', async () => {
    await expect(firstValueFrom(client.send('test.json', {}))).resolves.toEqual({ head: 7, rows: 'text', nested: { b: { type: 'Buffer', data: [120] } } });
  });
});

describe('binary reply frames', () => {
  it('round-trips, and refuses frames cut short', () => {
    const frame = encodeBinaryReply({ id: 'a', response: { x: 1, tokens: Buffer.from([1, 2, 3]) }, isDisposed: true })!;
    expect(decodeBinaryReply(frame)).toEqual({ id: 'a', response: { x: 1, tokens: Buffer.from([1, 2, 3]) }, isDisposed: true });
    expect(encodeBinaryReply({ id: 'a', response: { x: 1 } })).toBeNull();
    expect(encodeBinaryReply({ id: 'a', response: [Buffer.from('x')] })).toBeNull();
    for (const cut of [1, 3, 8, 12]) expect(() => decodeBinaryReply(frame.subarray(0, cut))).toThrow(/cut short|not a binary reply/);
    expect(() => decodeBinaryReply(Buffer.from('{"id":"a"}'))).toThrow('not a binary reply');
  });
});
