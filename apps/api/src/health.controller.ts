import { Controller, Get, Inject } from '@nestjs/common';
import { ListAccounts } from '@gatehouse/contracts';
import type { RpcClient } from '@gatehouse/nest-kit';
import { z } from 'zod';
import { ok } from './http/envelope.js';
import { RPC } from './http/rpc.provider.js';

export const Health = z.object({ status: z.enum(['ok', 'degraded']), token_service: z.enum(['up', 'down']) }).meta({ id: 'Health' });

/** Liveness plus reachability of the token service over NATS. Unauthenticated; reveals nothing. */
@Controller('healthz')
export class HealthController {
  constructor(@Inject(RPC) private readonly rpc: RpcClient) {}

  @Get()
  async health() {
    // Its answer says "down": no warning per probe (a start polls it until the token service is up).
    const tokenService = await this.rpc.request(ListAccounts, {}, { quiet: true }).then(
      () => 'up' as const,
      () => 'down' as const,
    );
    const health: z.infer<typeof Health> = { status: tokenService === 'up' ? 'ok' : 'degraded', token_service: tokenService };
    return ok(health);
  }
}
