import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DASHBOARD_TYPES_FILE, renderDashboardTypes } from './dashboard-types.js';
import { buildOpenApiDocument } from './openapi.js';

describe('the dashboard types', () => {
  it('are the ones the OpenAPI document gives today (regenerated in memory)', async () => {
    const committed = readFileSync(DASHBOARD_TYPES_FILE, 'utf8');
    const fresh = await renderDashboardTypes(buildOpenApiDocument());
    const stale = `${fileURLToPath(DASHBOARD_TYPES_FILE)} is stale: run \`npm run types:dashboard -w @gatehouse/api\` and commit it`;
    expect(fresh === committed ? 'current' : stale).toBe('current');
  });
});
