import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { API_ENV, adminTokens, type ApiEnv } from '../config/env.js';
import { HttpProblem } from './http-errors.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * `Authorization: Bearer <admin token>` on every admin route: 401 when absent or malformed, 403
 * when wrong. Accepted: GATEHOUSE_ADMIN_TOKEN and each of GATEHOUSE_ADMIN_TOKENS (so a new token
 * can be rolled out before the old one is dropped). Compared as SHA-256 digests in constant time
 * (equal lengths always), against every accepted token without stopping at the first match.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  private readonly expected: Buffer[];

  constructor(@Inject(API_ENV) env: ApiEnv) {
    this.expected = adminTokens(env).map(digest);
  }

  private accepts(presented: string): boolean {
    const d = digest(presented);
    let matched = false;
    for (const e of this.expected) matched = timingSafeEqual(d, e) || matched;
    return matched;
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    const header = req.headers.authorization;
    if (!header) throw new HttpProblem(401, 10000, 'Authentication required: send Authorization: Bearer <admin token>');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new HttpProblem(401, 10000, 'Malformed Authorization header: expected "Bearer <admin token>"');
    if (!this.accepts(match[1]!)) throw new HttpProblem(403, 10000, 'Invalid admin token');
    return true;
  }
}
