import { openApiPaths } from './docs/operations.js';
import { Health } from './health.controller.js';

export const healthOpenApi = openApiPaths('Health', [
  { method: 'get', path: '/healthz', summary: 'Liveness, and whether the token service answers over NATS (unauthenticated)', result: Health, auth: false },
]);
