import { Deleted, openApiPaths } from '../docs/operations.js';
import { CfReusablePolicy, ReusablePolicyBody } from './cf-apps.js';
import { ListReusablePoliciesQuery } from './policies.controller.js';

const base = '/client/v4/accounts/{account_id}/access/policies';
export const reusablePoliciesOpenApi = openApiPaths('Access reusable policies', [
  {
    method: 'get',
    path: base,
    summary: 'List reusable Service Auth policies (each with app_count and the apps linking it)',
    query: ListReusablePoliciesQuery,
    result: CfReusablePolicy,
    page: true,
  },
  {
    method: 'post',
    path: base,
    summary: 'Create a reusable Service Auth (non_identity) policy; link it from an application\'s "policies"',
    body: ReusablePolicyBody,
    result: CfReusablePolicy,
  },
  { method: 'get', path: `${base}/{policy_id}`, summary: 'Get a reusable policy', result: CfReusablePolicy },
  {
    method: 'put',
    path: `${base}/{policy_id}`,
    summary: 'Update a reusable policy; every application linking it applies the change at once (omitted require, exclude, session_duration keep their value)',
    body: ReusablePolicyBody,
    result: CfReusablePolicy,
  },
  { method: 'delete', path: `${base}/{policy_id}`, summary: 'Delete a reusable policy (400 naming the applications while any links it)', result: Deleted },
]);
