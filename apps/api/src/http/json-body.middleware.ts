import type { NextFunction, Request, Response } from 'express';
import { failure } from './envelope.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Reads request bodies ourselves so that every body problem gets a 4xx in the v4 envelope:
 * an empty body is "no body"; a non-empty one must be declared JSON, parse, and stay under the
 * size limit. (Errors in Express middleware would otherwise bypass Nest's exception filter.)
 */
export function jsonBody(limitBytes = 64 * 1024) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const reject = (status: number, message: string) => {
      if (done) return;
      done = true;
      res.status(status).json(failure(10001, [message]));
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limitBytes) {
        reject(413, `Request body is larger than ${limitBytes} bytes`);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => reject(400, 'Request body could not be read'));
    req.on('end', () => {
      if (done) return;
      const raw = Buffer.concat(chunks).toString('utf8');
      if (!raw.trim()) {
        req.body = undefined;
        done = true;
        return next();
      }
      if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) {
        return reject(400, 'Content-Type must be application/json');
      }
      try {
        req.body = JSON.parse(raw) as unknown;
      } catch {
        return reject(400, 'Request body is not valid JSON');
      }
      done = true;
      next();
    });
  };
}
