import type { IncomingHttpHeaders } from 'node:http';
import { isStrict } from '@gatehouse/contracts';
import type { Replica, ReplicaApp } from '../replica/replica.js';

/**
 * `strict_service_token_auth` (the account's Access organization), at the gateway:
 * - a request carrying service-token headers together with a JWT (`cf-access-token` or the
 *   `CF_Authorization` cookie) is refused: which credential decides would be ambiguous;
 * - any `CF-Access-Client-*` header (or the app's single credential header) given twice is
 *   refused (Node would join the values; a proxy in front may have kept another one);
 * - no `CF_Authorization` cookie is issued;
 * - refusals stay 401 (cannot authenticate) / 403 (authenticated, not admitted), and only
 *   Service Auth (`non_identity`) policies apply — as everywhere in Gatehouse.
 */
export function strictFor(replica: Replica, app: ReplicaApp): boolean {
  return isStrict(replica.organization(app.accountId));
}

/** Why a strict-mode request is refused before its credentials are looked at, or null. */
export function strictRefusal(
  req: { headers: IncomingHttpHeaders; rawHeaders: string[] },
  singleHeader: string | null,
): 'duplicate_credential_header' | 'service_token_with_jwt' | null {
  const counts = new Map<string, number>();
  const single = singleHeader?.toLowerCase();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name.startsWith('cf-access-client-') || name === single || name === 'cf-access-token') {
      const n = (counts.get(name) ?? 0) + 1;
      if (n > 1) return 'duplicate_credential_header';
      counts.set(name, n);
    }
  }
  const serviceToken = [...counts.keys()].some((n) => n.startsWith('cf-access-client-') || n === single);
  const jwt = counts.has('cf-access-token') || /(?:^|;)\s*CF_Authorization=/.test(req.headers.cookie ?? '');
  return serviceToken && jwt ? 'service_token_with_jwt' : null;
}
