import { openApiPaths } from '../docs/operations.js';
import { CfKeys, KeysBody, RotateKeysBody } from './keys.controller.js';

const path = '/client/v4/accounts/{account_id}/access/keys';
export const keysOpenApi = openApiPaths('Access keys', [
  { method: 'get', path, summary: 'Signing keys: rotation interval, days until the next rotation, last rotation, and each published key', result: CfKeys },
  {
    method: 'put',
    path,
    summary: 'Set key_rotation_interval_days (21–365); the keys are shared by every account of this Gatehouse',
    body: KeysBody,
    result: CfKeys,
  },
  {
    method: 'post',
    path: `${path}/rotate`,
    summary:
      'Rotate now: the new key is published at once and signs new JWTs after activation_delay_seconds (once every gateway has it); the old key stays published',
    body: RotateKeysBody,
    result: CfKeys,
  },
]);
