import type net from 'node:net';
import { FastResponse } from './fast-front.js';

/** A FastResponse on a socket that records what it is given. */
function response(): { res: FastResponse; written: () => Promise<string> } {
  const chunks: Buffer[] = [];
  const socket = {
    write: (data: Buffer, done?: () => void) => (chunks.push(data), done?.(), true),
    destroy: () => undefined,
  } as unknown as net.Socket;
  // A response's last write is held to the end of the poll phase (write-batch.ts).
  const written = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return Buffer.concat(chunks).toString('latin1');
  };
  return { res: new FastResponse(socket, 'GET', 65, () => undefined), written };
}

describe('FastResponse header checks', () => {
  it('refuses a control character in a long value, also right after the same value without it passed', async () => {
    const cookie = `CF_Authorization=${'a'.repeat(900)}; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax`;
    for (let i = 0; i < 2; i++) {
      const { res, written } = response();
      res.writeHead(200, ['Set-Cookie', cookie, 'Content-Length', '0']);
      res.end();
      expect(await written()).toContain(`Set-Cookie: ${cookie}\r\n`);
    }
    for (const bad of [`${cookie}\r\nX-Injected: 1`, `${cookie.slice(0, -1)}\x00`, `\x7f${cookie.slice(1)}`]) {
      expect(() => response().res.writeHead(200, ['Set-Cookie', bad])).toThrow(TypeError);
    }
    expect(() => response().res.writeHead(200, ['X-Short', 'a\nb'])).toThrow(TypeError);
  });
});

describe('FastResponse bytes', () => {
  const date = (text: string) => text.replace(/Date: [^\r]+\r\n/, 'Date: D\r\n');

  it('writes head and body in one write (Content-Length)', async () => {
    const { res, written } = response();
    res.writeHead(200, ['Content-Length', '5', 'Set-Cookie', 'a=b']);
    res.end(Buffer.from('hello'));
    expect(date(await written())).toBe(
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: a=b\r\nDate: D\r\nConnection: keep-alive\r\nKeep-Alive: timeout=65\r\n\r\nhello',
    );
  });

  it('frames a body without Content-Length as chunks, with the last chunk at the end', async () => {
    const { res, written } = response();
    res.writeHead(200, ['X-A', '1']);
    res.write(Buffer.from('0123456789abcdefg'));
    res.write(Buffer.alloc(0));
    res.write(Buffer.from('xy'));
    res.end(Buffer.from('z'));
    expect(date(await written())).toBe(
      'HTTP/1.1 200 OK\r\nX-A: 1\r\nDate: D\r\nConnection: keep-alive\r\nKeep-Alive: timeout=65\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '11\r\n0123456789abcdefg\r\n2\r\nxy\r\n1\r\nz\r\n0\r\n\r\n',
    );
  });

  it('ends a chunked response with no body in the head write, and one with a body before end() with the last chunk alone', async () => {
    const empty = response();
    empty.res.writeHead(200, []);
    empty.res.end();
    expect(date(await empty.written())).toBe(
      'HTTP/1.1 200 OK\r\nDate: D\r\nConnection: keep-alive\r\nKeep-Alive: timeout=65\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    const late = response();
    late.res.writeHead(200, []);
    late.res.write(Buffer.from('ab'));
    late.res.end();
    expect(date(await late.written())).toMatch(/\r\n\r\n2\r\nab\r\n0\r\n\r\n$/);
  });

  it('writes no body for HEAD, 204 and 304, and a streamed body as it is given', async () => {
    const chunks: Buffer[] = [];
    const socket = { write: (data: Buffer) => (chunks.push(data), true), destroy: () => undefined } as unknown as net.Socket;
    const head = new FastResponse(socket, 'HEAD', 65, () => undefined);
    head.writeHead(200, ['Content-Length', '5']);
    head.end(Buffer.from('hello'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(Buffer.concat(chunks).toString('latin1')).toMatch(/Content-Length: 5\r\n.*\r\n\r\n$/s);
    for (const status of [204, 304]) {
      const { res, written } = response();
      res.writeHead(status, []);
      res.end(Buffer.from('x'));
      expect(await written()).toMatch(/\r\n\r\n$/);
      expect(await written()).not.toContain('Transfer-Encoding');
    }
    const { res, written } = response();
    res.writeHead(200, ['Content-Length', '6']);
    res.write(Buffer.from('abc'));
    const body = Buffer.from('def');
    res.write(body);
    res.end();
    expect(await written()).toMatch(/\r\n\r\nabcdef$/);
  });
});
