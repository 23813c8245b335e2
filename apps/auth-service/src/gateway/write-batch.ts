import type net from 'node:net';

/**
 * Socket writes held to the end of the event loop's poll phase (a `setImmediate`), then made in
 * the order they were asked for. On loopback and in VMs most of a small write's cost is waking
 * the process that reads it (the client, the upstream): the sender runs the receiver's TCP path
 * and, when the receiver sleeps in epoll, its wake-up. The writes of one poll phase's events
 * (one read of each ready socket) made together wake each peer once for all of them, where one
 * at a time each write can find its peer asleep again (docs/performance.md, "Session 12").
 *
 * Only for writes whose outcome nobody waits for synchronously: a response's last write (the
 * whole of a small response), and a bodiless request's head to the upstream. Writes to a socket
 * with writes held go through the batch too, so that order is kept; `done` runs as a write's
 * callback would.
 */
class WriteBatch {
  /** Flat: socket, data, encoding, done; four slots per write (no object per write). Released writes leave a null socket. */
  private queue: unknown[] = [];
  /**
   * Sockets with writes held: how many bytes, and where their writes are in the queue (written in
   * order: later writes to them are held too). release() makes one socket's writes without
   * scanning the others' (many connections released in one pass cost each its own writes only).
   */
  private readonly holding = new Map<net.Socket, { bytes: number; at: number[] }>();
  private scheduled = false;
  private readonly flush = (): void => {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    this.holding.clear();
    for (let i = 0; i < queue.length; i += 4) {
      if (queue[i] === null) continue;
      this.make(queue[i] as net.Socket, queue[i + 1] as Buffer | string, queue[i + 2] as BufferEncoding | undefined, queue[i + 3] as (() => void) | undefined);
    }
  };

  private make(socket: net.Socket, data: Buffer | string, encoding: BufferEncoding | undefined, done: (() => void) | undefined): void {
    // Gone meanwhile (the client or upstream closed): its close was handled as for any write cut short.
    if (socket.destroyed) done?.();
    else if (encoding === undefined) socket.write(data, done);
    else socket.write(data, encoding, done);
  }

  write(socket: net.Socket, data: Buffer | string, encoding?: BufferEncoding, done?: () => void): void {
    const held = this.holding.get(socket);
    if (held) {
      held.bytes += data.length;
      held.at.push(this.queue.length);
    } else this.holding.set(socket, { bytes: data.length, at: [this.queue.length] });
    this.queue.push(socket, data, encoding, done);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /**
   * Makes `socket`'s held writes now, in order: before anything else is written to it or it is
   * ended (its end of input, a handover to Node's server, whose writes do not come through here).
   */
  release(socket: net.Socket): void {
    const held = this.holding.get(socket);
    if (!held) return;
    this.holding.delete(socket);
    const queue = this.queue;
    for (const i of held.at) {
      const data = queue[i + 1] as Buffer | string;
      const encoding = queue[i + 2] as BufferEncoding | undefined;
      const done = queue[i + 3] as (() => void) | undefined;
      queue[i] = queue[i + 1] = queue[i + 3] = null;
      this.make(socket, data, encoding, done);
    }
  }

  /** Whether `socket` has writes held: a write to it now must be held too, to keep their order. */
  holds(socket: net.Socket): boolean {
    return this.holding.has(socket);
  }

  /**
   * The bytes (or, for a string, characters) held for `socket`: a connection that answers many
   * pipelined requests in one pass releases them past its high-water mark, so what is held for a
   * client that does not read stays as bounded as what its socket buffers.
   */
  heldBytes(socket: net.Socket): number {
    return this.holding.get(socket)?.bytes ?? 0;
  }
}

/** The process's one batch (one event loop). */
export const writeBatch = new WriteBatch();
