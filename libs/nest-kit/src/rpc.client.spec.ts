import { jest } from '@jest/globals';
import { DomainError, ListAccounts } from '@gatehouse/contracts';
import { Logger } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { NEVER, throwError } from 'rxjs';
import { RpcClient } from './rpc.client.js';

const proxyFailingWith = (error: unknown) => ({ send: () => throwError(() => error) }) as unknown as ClientProxy;

describe('RpcClient errors', () => {
  it("rebuilds the remote service's DomainError", async () => {
    const rpc = new RpcClient(proxyFailingWith({ code: 'NOT_FOUND', message: 'no such account' }));
    await expect(rpc.request(ListAccounts, {})).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no such account' });
  });

  it('turns a transport failure (a NATS server lost mid-request, no responder) into UNAVAILABLE, never INTERNAL', async () => {
    for (const text of ['CONNECTION_CLOSED', 'PermissionViolationError', 'some new nats.js error']) {
      const rpc = new RpcClient(proxyFailingWith(new Error(text)));
      const error = await rpc.request(ListAccounts, {}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe('UNAVAILABLE');
    }
  });

  it('turns no answer within the timeout into UNAVAILABLE', async () => {
    const rpc = new RpcClient({ send: () => NEVER } as unknown as ClientProxy, 50);
    await expect(rpc.request(ListAccounts, {})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('warns of a transport failure, except for a quiet request (a health probe reports it in its answer)', async () => {
    const warnings: unknown[] = [];
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(message));
    try {
      const rpc = new RpcClient(proxyFailingWith(new Error('503')));
      await expect(rpc.request(ListAccounts, {}, { quiet: true })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect(warnings).toEqual([]);
      await expect(rpc.request(ListAccounts, {})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect(warnings).toEqual(['No answer on accounts.v1.list: 503']);
    } finally {
      warn.mockRestore();
    }
  });
});
