import type { Actor } from '@gatehouse/contracts';
import type { Request } from 'express';

/** Who calls the admin API: the admin credential, with the caller's address. */
export function actorOf(req: Request): Actor {
  const ip = (req.ip ?? req.socket.remoteAddress ?? '').slice(0, 64);
  return ip ? { type: 'admin', id: 'admin-token', ip } : { type: 'admin', id: 'admin-token' };
}
