import type net from 'node:net';
import { FastResponse } from './fast-front.js';

/** A FastResponse on a socket that records what it is given. */
function response(): { res: FastResponse; written: () => string } {
  const chunks: Buffer[] = [];
  const socket = {
    write: (data: Buffer, done?: () => void) => (chunks.push(data), done?.(), true),
    destroy: () => undefined,
  } as unknown as net.Socket;
  return { res: new FastResponse(socket, 'GET', 65, () => undefined), written: () => Buffer.concat(chunks).toString('latin1') };
}

describe('FastResponse header checks', () => {
  it('refuses a control character in a long value, also right after the same value without it passed', () => {
    const cookie = `CF_Authorization=${'a'.repeat(900)}; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax`;
    for (let i = 0; i < 2; i++) {
      const { res, written } = response();
      res.writeHead(200, ['Set-Cookie', cookie, 'Content-Length', '0']);
      res.end();
      expect(written()).toContain(`Set-Cookie: ${cookie}\r\n`);
    }
    for (const bad of [`${cookie}\r\nX-Injected: 1`, `${cookie.slice(0, -1)}\x00`, `\x7f${cookie.slice(1)}`]) {
      expect(() => response().res.writeHead(200, ['Set-Cookie', bad])).toThrow(TypeError);
    }
    expect(() => response().res.writeHead(200, ['X-Short', 'a\nb'])).toThrow(TypeError);
  });
});
