import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ClientNats } from '@nestjs/microservices';
import { NestFactory } from '@nestjs/core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { TokensSeen } from '@gatehouse/contracts';
import { expectEventually, startNats, type TestNats } from '@gatehouse/testing';
import { NATS_CLIENT, NatsClientModule, NatsServerLimits, RpcClient } from '../src/index.js';

/** A provider of the app's own that still publishes while it stops (as the gateway's recorder flushes). */
@Injectable()
class LastWords implements OnApplicationBootstrap, OnApplicationShutdown {
  connection?: NatsConnection;
  /** Whether the connection was still open when this provider stopped. */
  openAtShutdown?: boolean;

  constructor(
    private readonly rpc: RpcClient,
    readonly limits: NatsServerLimits,
    @Inject(NATS_CLIENT) private readonly client: ClientNats,
  ) {}

  onApplicationBootstrap(): void {
    this.connection = this.client.unwrap<NatsConnection>();
  }

  async onApplicationShutdown(): Promise<void> {
    this.openAtShutdown = !this.connection!.isClosed();
    await this.rpc.publish(TokensSeen, { seen: [{ tokenId: LAST_TOKEN, at: new Date().toISOString() }] });
  }
}
const LAST_TOKEN = randomUUID();

describe('NatsClientModule (real nats-server)', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startNats({ maxPayload: 65_536 });
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it("gives RpcClient and the server's limits by class, and closes the connection after the app's own providers stopped", async () => {
    @Module({ imports: [NatsClientModule.forRoot({ url: nats.url, name: 'nest-kit-test' })], providers: [LastWords] })
    class TestModule {}

    const listener = await connect({ servers: nats.url });
    const received: string[] = [];
    const sub = listener.subscribe(TokensSeen.subject, { callback: (_e, m) => void received.push(m.string()) });
    await listener.flush();
    const app = await NestFactory.createApplicationContext(TestModule, { logger: false });
    await app.init();
    expect(app.get(LastWords).limits.maxPayload()).toBe(65_536);
    const lastWords = app.get(LastWords);
    await app.close();
    // The provider stopped first, on the open connection, which closed after it.
    expect(lastWords.openAtShutdown).toBe(true);
    expect(lastWords.connection!.isClosed()).toBe(true);
    await expectEventually(() => expect(received.join('')).toContain(LAST_TOKEN));
    sub.unsubscribe();
    await listener.close();
  });
});
