import { openApiPaths } from '../docs/operations.js';
import { CfOrganization, OrganizationPatchBody, OrganizationPutBody } from './organizations.controller.js';

const path = '/client/v4/accounts/{account_id}/access/organizations';
export const organizationsOpenApi = openApiPaths('Access organization', [
  {
    method: 'get',
    path,
    summary: 'Get the Access organization (defaults until saved: strict_service_token_auth false, inactivity cleanup off)',
    result: CfOrganization,
  },
  {
    method: 'put',
    path,
    summary: 'Update the Access organization (omitted fields keep their value; a service_token_inactivity object is complete)',
    body: OrganizationPutBody,
    result: CfOrganization,
  },
  { method: 'post', path, summary: "Same as PUT (the SDK's organizations.create)", body: OrganizationPutBody, result: CfOrganization },
  {
    method: 'patch',
    path,
    summary: 'Update some fields of the Access organization (service_token_inactivity may be partial)',
    body: OrganizationPatchBody,
    result: CfOrganization,
  },
]);
