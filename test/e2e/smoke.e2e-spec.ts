import { startSystem, type System } from '../src/system.js';

describe('smoke', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => sys?.stop());

  it('creates a token through the REST API', async () => {
    const accountId = await sys.defaultAccountId();
    const res = await sys.api(`/client/v4/accounts/${accountId}/access/service_tokens`, { method: 'POST', json: { name: 'smoke' } });
    expect(res.status).toBe(200);
    expect(res.body.result.client_secret).toMatch(/^gatehouse_/);
  });
});
