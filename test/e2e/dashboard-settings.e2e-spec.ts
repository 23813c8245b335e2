import { expectEventually, freePort } from '@gatehouse/testing';
import type { Page } from 'playwright-core';
import { assertDashboardBuilt, launchBrowser, type Browser } from '../src/browser.js';
import { startSystem, type System } from '../src/system.js';

/**
 * The dashboard's Settings page in headless Chromium against the real system (token service, API,
 * gateway as processes): strict mode, inactivity cleanup and signing keys with "Rotate now".
 */
describe('dashboard: Settings', () => {
  let sys: System;
  let browser: Browser;
  let page: Page;
  let accountId: string;
  const org = async () => (await sys.api(`/client/v4/accounts/${accountId}/access/organizations`)).body.result;
  const keys = async () => (await sys.api(`/client/v4/accounts/${accountId}/access/keys`)).body.result;

  beforeAll(async () => {
    const port = await freePort();
    sys = await startSystem({
      env: { GATEHOUSE_DASHBOARD_DIR: assertDashboardBuilt() },
      extra: [{ name: 'auth-service', migrate: true, env: { GATEHOUSE_GATEWAY_PORT: String(port), GATEHOUSE_TEAM_URL: `http://127.0.0.1:${port}` } }],
    });
    accountId = await sys.defaultAccountId();
    await expectEventually(async () => expect((await sys.api(`/client/v4/accounts/${accountId}/access/keys`)).status).toBe(200), {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    browser = await launchBrowser(sys.apiUrl);
    page = await browser.newPage({ width: 1280, height: 860 });
    await page.goto(`${sys.apiUrl}/`);
    await page.getByLabel('Admin token').fill(sys.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Service Tokens' }).waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });

  it('turns strict service-token mode on from the Settings page', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    const strict = page.getByLabel('Strict service-token authentication');
    await expect(strict.isChecked()).resolves.toBe(false);
    await strict.check();
    await page.getByRole('button', { name: 'Save strict mode' }).click();
    await page.getByText('Strict mode is on.').waitFor();
    await expect(org()).resolves.toMatchObject({ strict_service_token_auth: true });
    await browser.screenshot(page, 'settings-1280', { fullPage: true });
  });

  it('sets the inactivity cleanup, refusing a threshold outside 30–365 days before sending', async () => {
    await page.getByLabel('Clean up inactive service tokens').check();
    await page.getByLabel('Unused for (days)').fill('10');
    await page.getByRole('button', { name: 'Save inactivity cleanup' }).click();
    await page.getByText('Enter a whole number of days from 30 to 365.').waitFor();
    await expect(org()).resolves.toMatchObject({ service_token_inactivity: { enabled: false } });
    await page.getByLabel('Unused for (days)').fill('60');
    await page.getByLabel('Action on inactive tokens').selectOption('delete');
    await page.getByRole('button', { name: 'Save inactivity cleanup' }).click();
    await page.getByText('Inactivity cleanup is on: tokens unused for 60 days are deleted.').waitFor();
    await expect(org()).resolves.toMatchObject({
      strict_service_token_auth: true,
      service_token_inactivity: { enabled: true, inactivity_threshold_days: 60, action: 'delete' },
    });
    // A reload shows what was saved.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    await expect(page.getByLabel('Unused for (days)').inputValue()).resolves.toBe('60');
    await expect(page.getByLabel('Strict service-token authentication').isChecked()).resolves.toBe(true);
  });

  it('rotates the signing key with "Rotate now": the new key is listed as published, not signing yet', async () => {
    const before = await keys();
    await page.getByRole('button', { name: 'Rotate now' }).click();
    const dialog = page.getByRole('dialog', { name: 'Rotate the signing key now?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Rotate the key' }).click();
    await page.getByText(/New key [0-9a-f]{8}… published/).waitFor();
    const after = await keys();
    expect(after.keys.length).toBe(before.keys.length + 1);
    const fresh = after.keys[0];
    expect(fresh.state).toBe('pending');
    await page.getByRole('cell', { name: fresh.kid }).waitFor();
    await page.getByRole('cell', { name: 'Published, not signing yet' }).waitFor();

    await page.getByLabel('Rotate every (days)').fill('400');
    await page.getByRole('button', { name: 'Save rotation interval' }).click();
    await page.getByText('Enter a whole number of days from 21 to 365.').waitFor();
    await page.getByLabel('Rotate every (days)').fill('45');
    await page.getByRole('button', { name: 'Save rotation interval' }).click();
    await page.getByText('Keys now rotate every 45 days.').waitFor();
    await expect(keys()).resolves.toMatchObject({ key_rotation_interval_days: 45 });
    await page.setViewportSize({ width: 390, height: 844 });
    await browser.screenshot(page, 'settings-390', { fullPage: true });
    expect(browser.errors).toEqual([]);
  });
});
