import { UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { AccessDenied, createAccessVerifier, type AccessVerifyOptions } from './verify.js';

/**
 * A Nest guard: `app.useGlobalGuards(new AccessGuard({ teamUrl, audience }))` or
 * `@UseGuards(new AccessGuard({...}))`. Sets `request.accessIdentity`; throws 401 otherwise.
 */
export class AccessGuard implements CanActivate {
  private readonly verifier;

  constructor(options: AccessVerifyOptions) {
    this.verifier = createAccessVerifier(options);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined>; accessIdentity?: unknown }>();
    try {
      request.accessIdentity = await this.verifier.verifyHeaders(request.headers);
      return true;
    } catch (error) {
      throw new UnauthorizedException({ error: 'unauthorized', reason: error instanceof AccessDenied ? error.reason : 'invalid_assertion' });
    }
  }
}
