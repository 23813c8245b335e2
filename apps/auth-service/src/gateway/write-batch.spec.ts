import type net from 'node:net';
import { writeBatch } from './write-batch.js';

/** A socket that records what is written to it, in one log shared by all of them. */
function recorder(log: string[], name: string, destroyed = false): net.Socket {
  return {
    destroyed,
    write: (data: Buffer | string, encodingOrDone?: BufferEncoding | (() => void), done?: () => void) => {
      log.push(`${name}:${data.toString()}${typeof encodingOrDone === 'string' ? `(${encodingOrDone})` : ''}`);
      (typeof encodingOrDone === 'function' ? encodingOrDone : done)?.();
      return true;
    },
  } as unknown as net.Socket;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('writeBatch', () => {
  it('holds writes to the end of the poll phase, then makes them in the order they were asked for', async () => {
    const log: string[] = [];
    const a = recorder(log, 'a');
    const b = recorder(log, 'b');
    const done: string[] = [];
    writeBatch.write(a, Buffer.from('1'), undefined, () => done.push('a1'));
    writeBatch.write(b, 'head', 'latin1');
    writeBatch.write(a, Buffer.from('2'));
    expect(log).toEqual([]);
    expect(writeBatch.holds(a)).toBe(true);
    expect(writeBatch.holds(b)).toBe(true);
    await tick();
    expect(log).toEqual(['a:1', 'b:head(latin1)', 'a:2']);
    expect(done).toEqual(['a1']);
    expect(writeBatch.holds(a)).toBe(false);
  });

  it('release() makes one socket’s held writes now, in order, and leaves the others held', async () => {
    const log: string[] = [];
    const a = recorder(log, 'a');
    const b = recorder(log, 'b');
    writeBatch.write(a, Buffer.from('1'));
    writeBatch.write(b, Buffer.from('x'));
    writeBatch.write(a, Buffer.from('2'));
    writeBatch.release(a);
    expect(log).toEqual(['a:1', 'a:2']);
    expect(writeBatch.holds(a)).toBe(false);
    expect(writeBatch.holds(b)).toBe(true);
    writeBatch.release(a);
    await tick();
    expect(log).toEqual(['a:1', 'a:2', 'b:x']);
  });

  it('writes held again after a release go out at the flush, after the others, each socket in its own order', async () => {
    const log: string[] = [];
    const a = recorder(log, 'a');
    const b = recorder(log, 'b');
    writeBatch.write(b, Buffer.from('1'));
    writeBatch.write(a, Buffer.from('1'));
    writeBatch.write(b, Buffer.from('2'));
    writeBatch.write(a, Buffer.from('2'));
    writeBatch.release(a);
    writeBatch.write(a, Buffer.from('3'));
    writeBatch.release(b);
    writeBatch.write(b, Buffer.from('3'));
    expect(log).toEqual(['a:1', 'a:2', 'b:1', 'b:2']);
    expect(writeBatch.heldBytes(a)).toBe(1);
    await tick();
    expect(log).toEqual(['a:1', 'a:2', 'b:1', 'b:2', 'a:3', 'b:3']);
    expect(writeBatch.holds(a) || writeBatch.holds(b)).toBe(false);
  });

  it('a socket destroyed while its writes were held: nothing is written, each write’s callback still runs', async () => {
    const log: string[] = [];
    const gone = recorder(log, 'gone', true);
    const done: string[] = [];
    writeBatch.write(gone, Buffer.from('1'), undefined, () => done.push('1'));
    await tick();
    expect(log).toEqual([]);
    expect(done).toEqual(['1']);
  });

  it('writes asked for while the batch is being made are held for the next one', async () => {
    const log: string[] = [];
    const a = recorder(log, 'a');
    writeBatch.write(a, Buffer.from('1'), undefined, () => writeBatch.write(a, Buffer.from('2')));
    await tick();
    expect(log).toEqual(['a:1']);
    expect(writeBatch.holds(a)).toBe(true);
    await tick();
    expect(log).toEqual(['a:1', 'a:2']);
  });
});
