// Writes apps/dashboard/src/lib/api-schema.gen.ts from the built API's OpenAPI document.
// Run through `npm run types:dashboard -w @gatehouse/api` (builds first).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DASHBOARD_TYPES_FILE, renderDashboardTypes } from '../dist/docs/dashboard-types.js';
import { buildOpenApiDocument } from '../dist/docs/openapi.js';

writeFileSync(DASHBOARD_TYPES_FILE, await renderDashboardTypes(buildOpenApiDocument()));
console.log(`wrote ${fileURLToPath(DASHBOARD_TYPES_FILE)}`);
