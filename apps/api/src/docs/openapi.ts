import { createDocument } from 'zod-openapi';

export type OpenApiDocument = ReturnType<typeof createDocument>;
import { accessRequestsOpenApi } from '../access/access-requests.openapi.js';
import { keysOpenApi } from '../access/keys.openapi.js';
import { organizationsOpenApi } from '../access/organizations.openapi.js';
import { accountsOpenApi } from '../accounts/accounts.openapi.js';
import { alertingOpenApi } from '../alerting/alerting.openapi.js';
import { appsOpenApi } from '../apps/apps.openapi.js';
import { reusablePoliciesOpenApi } from '../apps/policies.openapi.js';
import { auditOpenApi } from '../audit/audit.openapi.js';
import { healthOpenApi } from '../health.openapi.js';
import { tokensOpenApi } from '../tokens/tokens.openapi.js';

/**
 * The OpenAPI document of the admin API, built by zod-openapi from the zod schemas the
 * controllers validate with (bodies, queries, path ids) and the ones their answers are typed
 * with. Each feature lists its routes in `<feature>.openapi.ts` beside its controller;
 * `openapi.spec.ts` checks the list against the routes Nest registers.
 */
export function buildOpenApiDocument(): OpenApiDocument {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse admin API',
      version: '1',
      description: "Cloudflare v4-compatible admin API: point a Cloudflare client's base URL at /client/v4.",
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'GATEHOUSE_ADMIN_TOKEN' } } },
    paths: {
      ...healthOpenApi,
      ...accountsOpenApi,
      ...tokensOpenApi,
      ...appsOpenApi,
      ...reusablePoliciesOpenApi,
      ...organizationsOpenApi,
      ...keysOpenApi,
      ...accessRequestsOpenApi,
      ...auditOpenApi,
      ...alertingOpenApi,
    },
  });
}

let document: OpenApiDocument | undefined;
/** Built once, on first request. */
export const openApiDocument = (): OpenApiDocument => (document ??= buildOpenApiDocument());
