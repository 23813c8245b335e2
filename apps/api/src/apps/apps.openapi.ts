import { z } from 'zod';
import { Deleted, openApiPaths } from '../docs/operations.js';
import { ListAppsQuery, ListPoliciesQuery, RevokeSessionsBody } from './apps.controller.js';
import { AppBody, CfApp, CfPolicy, CfTokenPolicy, PolicyBody } from './cf-apps.js';

const apps = '/client/v4/accounts/{account_id}/access/apps';
const policies = `${apps}/{app_id}/policies`;

export const appsOpenApi = {
  ...openApiPaths('Access applications', [
    { method: 'get', path: apps, summary: 'List Access applications', query: ListAppsQuery, result: CfApp, page: true },
    {
      method: 'post',
      path: apps,
      summary: 'Create a self-hosted Access application (aud is generated; session_duration defaults to 24h; policies links reusable policies)',
      body: AppBody,
      result: CfApp,
    },
    { method: 'get', path: `${apps}/{app_id}`, summary: 'Get an Access application', result: CfApp },
    {
      method: 'put',
      path: `${apps}/{app_id}`,
      summary: 'Update an Access application (omitted optional fields keep their value; null clears; policies replaces the links)',
      body: AppBody,
      result: CfApp,
    },
    { method: 'delete', path: `${apps}/{app_id}`, summary: 'Delete an Access application and its policies', result: Deleted },
    {
      method: 'post',
      path: `${apps}/{app_id}/revoke_tokens`,
      summary: 'Revoke existing sessions: JWTs issued for this app before now stop working (result: null)',
      body: RevokeSessionsBody,
      result: z.null(),
    },
  ]),
  ...openApiPaths('Access policies', [
    {
      method: 'get',
      path: policies,
      summary: 'List the Service Auth policies of an application, by precedence',
      query: ListPoliciesQuery,
      result: CfPolicy,
      page: true,
    },
    {
      method: 'post',
      path: policies,
      summary: 'Create a Service Auth (non_identity) policy; precedence defaults to after the last',
      body: PolicyBody,
      result: CfPolicy,
    },
    { method: 'get', path: `${policies}/{policy_id}`, summary: 'Get a policy', result: CfPolicy },
    {
      method: 'put',
      path: `${policies}/{policy_id}`,
      summary: 'Update a policy (omitted precedence, require, exclude keep their value)',
      body: PolicyBody,
      result: CfPolicy,
    },
    { method: 'delete', path: `${policies}/{policy_id}`, summary: 'Delete a policy', result: Deleted },
  ]),
  ...openApiPaths('Service tokens', [
    {
      method: 'get',
      path: '/client/v4/accounts/{account_id}/access/service_tokens/{token_id}/policies',
      summary:
        'Gatehouse extension: policies whose rules name this service token: app-scoped ones with their app (app_id, app_name), reusable ones (reusable: true, apps) — also after the token is deleted',
      query: ListPoliciesQuery,
      result: CfTokenPolicy,
      page: true,
    },
  ]),
};
