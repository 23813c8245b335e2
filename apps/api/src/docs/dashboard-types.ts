import openapiTS, { astToString } from 'openapi-typescript';
import type { OpenApiDocument } from './openapi.js';

/** The dashboard's copy of the API's types, generated from the OpenAPI document (committed). */
export const DASHBOARD_TYPES_FILE = new URL('../../../dashboard/src/lib/api-schema.gen.ts', import.meta.url);

const HEADER = `// Generated from the admin API's OpenAPI document by openapi-typescript: do not edit.
// After changing a schema of apps/api, run \`npm run types:dashboard -w @gatehouse/api\`
// (apps/api/src/docs/dashboard-types.spec.ts fails while this file is stale).

`;

/**
 * The TypeScript types of the document (`paths`, `components['schemas']`, …). Used by
 * scripts/dashboard-types.mjs and its spec only; the running API never loads this module
 * (openapi-typescript is a dev dependency).
 */
export async function renderDashboardTypes(document: OpenApiDocument): Promise<string> {
  const ast = await openapiTS(document as Parameters<typeof openapiTS>[0], { silent: true, rootTypes: true, rootTypesNoSchemaPrefix: true });
  return HEADER + astToString(ast);
}
