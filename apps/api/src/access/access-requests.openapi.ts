import { openApiPaths } from '../docs/operations.js';
import { AccessRequestsQuery, CfAccessRequest } from './access-requests.controller.js';

export const accessRequestsOpenApi = openApiPaths('Access logs', [
  {
    method: 'get',
    path: '/client/v4/accounts/{account_id}/access/logs/access_requests',
    summary: "The gateway's access decisions (Service Auth) in Cloudflare's access request shape, with the service token named",
    query: AccessRequestsQuery,
    result: CfAccessRequest,
    page: true,
  },
]);
