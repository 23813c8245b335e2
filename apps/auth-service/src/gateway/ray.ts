import { randomBytes } from 'node:crypto';

/**
 * Decision ids, in the shape of Cloudflare's Ray ID (16 lowercase hex digits): a random 32-bit
 * prefix drawn when the process starts (one per gateway worker) and a 32-bit counter. Cheap on
 * the hot path (no randomness per request) and unique across workers and restarts unless two
 * processes draw the same prefix (1 in 4 billion). Every answer carries its id in `Cf-Ray`, the
 * upstream is sent the same id, and the access log records it, so a client that quotes the id
 * of a refusal points at its entry (`ray_id`).
 */
export class RayIds {
  private readonly prefix = randomBytes(4).toString('hex');
  private counter = 0;

  next(): string {
    this.counter = (this.counter + 1) >>> 0;
    return this.prefix + this.counter.toString(16).padStart(8, '0');
  }
}
