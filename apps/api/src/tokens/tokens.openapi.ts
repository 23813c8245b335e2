import { z } from 'zod';
import { openApiPaths } from '../docs/operations.js';
import {
  CfServiceToken,
  CfServiceTokenWithSecret,
  CreateTokenBody,
  ListTokensQuery,
  RefreshTokenBody,
  RotateTokenBody,
  UpdateTokenBody,
} from './tokens.controller.js';

const base = '/client/v4/accounts/{account_id}/access/service_tokens';
export const tokensOpenApi = openApiPaths('Service tokens', [
  {
    method: 'post',
    path: base,
    summary: 'Create a service token (the response holds client_secret, shown only this once)',
    body: CreateTokenBody,
    result: CfServiceTokenWithSecret,
  },
  { method: 'get', path: base, summary: 'List service tokens', query: ListTokensQuery, result: CfServiceToken, page: true },
  { method: 'get', path: `${base}/{token_id}`, summary: 'Get a service token', result: CfServiceToken },
  {
    method: 'put',
    path: `${base}/{token_id}`,
    summary:
      'Update a service token (name, duration: expiry moves to now + duration at once, enabled, previous secret grace; client_secret_version above the current one rotates, and only then the response holds client_secret)',
    body: UpdateTokenBody,
    result: z.union([CfServiceTokenWithSecret, CfServiceToken]),
  },
  { method: 'delete', path: `${base}/{token_id}`, summary: 'Delete (revoke) a service token', result: CfServiceToken },
  { method: 'post', path: `${base}/{token_id}/refresh`, summary: 'Refresh: expires_at becomes now + duration', body: RefreshTokenBody, result: CfServiceToken },
  {
    method: 'post',
    path: `${base}/{token_id}/rotate`,
    summary: 'Rotate the secret (optional grace for the previous one)',
    body: RotateTokenBody,
    result: CfServiceTokenWithSecret,
  },
]);
