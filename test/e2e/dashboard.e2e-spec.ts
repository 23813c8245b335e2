import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expectEventually, freePort } from '@gatehouse/testing';
import type { Page } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { assertDashboardBuilt, launchBrowser, type Browser } from '../src/browser.js';
import { startSystem, type System } from '../src/system.js';

/**
 * The dashboard in headless Chromium against the real system (processes, PostgreSQL, NATS):
 * every click goes through the built dashboard, the API and the services.
 */

const WIDE = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };

async function signIn(page: Page, sys: System) {
  await page.goto(`${sys.apiUrl}/`);
  await page.getByLabel('Admin token').fill(sys.adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Service Tokens' }).waitFor();
}

/** Runs an expression in the page (a string: this tsconfig has no DOM types). */
const inPage = <T>(page: Page, expression: string) => page.evaluate<T>(expression);

/** The text of everything a user (or a script in the page) could read back. */
const everythingVisible = (page: Page) =>
  inPage<string>(
    page,
    'JSON.stringify({ html: document.documentElement.outerHTML, url: location.href, state: history.state, session: { ...sessionStorage }, local: { ...localStorage } })',
  );
const horizontalOverflow = (page: Page) => inPage<number>(page, 'document.documentElement.scrollWidth - window.innerWidth');
const readClipboard = (page: Page) => inPage<string>(page, 'navigator.clipboard.readText()');

describe('dashboard: service tokens', () => {
  let sys: System;
  let browser: Browser;
  let page: Page;
  let accountId: string;
  const tokensPath = () => `/client/v4/accounts/${accountId}/access/service_tokens`;
  // Shared across the ordered tests of this journey.
  let tokenId = '';
  let firstSecret = '';

  beforeAll(async () => {
    sys = await startSystem({ env: { GATEHOUSE_DASHBOARD_DIR: assertDashboardBuilt() } });
    accountId = await sys.defaultAccountId();
    browser = await launchBrowser(sys.apiUrl);
    page = await browser.newPage(WIDE);
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });

  it('signs in with the admin token, kept in sessionStorage and never in the URL', async () => {
    await page.goto(`${sys.apiUrl}/tokens`);
    await page.getByRole('heading', { name: 'Sign in to Gatehouse' }).waitFor();
    // The hint names both places the token comes from.
    await page.getByText(/GATEHOUSE_ADMIN_TOKEN.*\.gatehouse\/admin-token/).waitFor();
    await browser.screenshot(page, 'sign-in-1280');
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Invalid admin token');

    await page.getByLabel('Admin token').fill(sys.adminToken);
    await page.getByLabel('Admin token').press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Service Tokens' }).waitFor();
    expect(page.url()).toBe(`${sys.apiUrl}/tokens`);
    await expect(inPage(page, "sessionStorage.getItem('gatehouse.adminToken')")).resolves.toBe(sys.adminToken);
    await expect(inPage(page, 'JSON.stringify({ ...localStorage })')).resolves.not.toContain(sys.adminToken);
    await expect(page.getByRole('combobox', { name: 'Account' }).inputValue()).resolves.toBe(accountId);
    // A reload keeps the session (same tab).
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Service Tokens' }).waitFor();
  });

  it('create → Generate token → copy → Close; the secret is never shown again', async () => {
    await page.getByRole('link', { name: 'Create Service Token' }).click();
    await page.getByRole('heading', { level: 1, name: 'Create Service Token' }).waitFor();

    // Validation happens before anything is sent.
    await page.getByRole('button', { name: 'Generate token' }).click();
    await page.getByText('Enter a name for the token.').waitFor();
    await page.getByLabel('Custom').check();
    await page.getByLabel('Custom duration').fill('1 year');
    await page.getByLabel(/Service token name/).fill('e2e-ci-deploy');
    await page.getByRole('button', { name: 'Generate token' }).click();
    await page.getByText(/Use hours, minutes or seconds/).waitFor();
    expect((await sys.api(tokensPath())).body.result_info.total_count).toBe(0);

    await page.getByLabel('90 days').check();
    await browser.screenshot(page, 'create-token-1280');
    await page.getByLabel(/Service token name/).press('Enter');
    await page.getByRole('heading', { name: 'Save your Client ID and Client Secret' }).waitFor();
    await page.getByText('This is the only time it is shown').waitFor();

    const clientId = (await page.getByTestId('client-id').textContent())!;
    firstSecret = (await page.getByTestId('client-secret').textContent())!;
    expect(firstSecret).toMatch(/^gatehouse_/);
    const listed = (await sys.api(tokensPath())).body.result;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ name: 'e2e-ci-deploy', client_id: clientId, duration: '2160h' });
    tokenId = listed[0].id;
    await expect(page.getByText(`CF-Access-Client-Secret: ${firstSecret}`).count()).resolves.toBe(1);

    await page.getByRole('button', { name: 'Copy Client Secret' }).click();
    await page.getByText('Copied').first().waitFor();
    await expect(readClipboard(page)).resolves.toBe(firstSecret);
    await page.getByRole('button', { name: 'Copy Client ID' }).click();
    await expectEventually(async () => expect(await readClipboard(page)).toBe(clientId));
    await browser.screenshot(page, 'token-secret-1280');

    // The secret is in no storage, URL or history state, even while it is displayed.
    const during = JSON.parse(await everythingVisible(page));
    expect(JSON.stringify([during.url, during.state, during.session, during.local])).not.toContain(firstSecret);

    await page.getByRole('button', { name: 'Close' }).click();
    await page.waitForURL(`${sys.apiUrl}/tokens/${tokenId}`);
    await page.getByRole('heading', { level: 1, name: 'e2e-ci-deploy' }).waitFor();
    expect(await everythingVisible(page)).not.toContain(firstSecret);

    await page.goBack();
    await page.getByRole('heading', { level: 1, name: 'Service Tokens' }).waitFor();
    expect(await everythingVisible(page)).not.toContain(firstSecret);
    await page.goForward();
    await page.getByRole('heading', { level: 1, name: 'e2e-ci-deploy' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'e2e-ci-deploy' }).waitFor();
    expect(await everythingVisible(page)).not.toContain(firstSecret);
    await page.goto(`${sys.apiUrl}/tokens/new`);
    await page.getByRole('button', { name: 'Generate token' }).waitFor();
    expect(await everythingVisible(page)).not.toContain(firstSecret);

    const got = await sys.api(`${tokensPath()}/${tokenId}`);
    expect(got.status).toBe(200);
    expect(got.body.result).not.toHaveProperty('client_secret');
    expect(JSON.stringify(got.body)).not.toContain(firstSecret);
  });

  it('Refresh shows the new expiry (after changing the duration to 1 year)', async () => {
    await page.goto(`${sys.apiUrl}/tokens/${tokenId}`);
    await page.getByRole('heading', { level: 1, name: 'e2e-ci-deploy' }).waitFor();
    // What the form says is what the API does: saving a new duration moves the expiry at once.
    await page.getByText(/Saving a new duration moves the expiry at once/).waitFor();
    await page.getByRole('group', { name: 'Duration' }).getByLabel('1 year (default)').check();
    const saved = Date.now();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/^Changes saved\. The token now expires .* UTC \(next year\)\.$/).waitFor();
    const changed = (await sys.api(`${tokensPath()}/${tokenId}`)).body.result;
    expect(changed.duration).toBe('8760h');
    expect(Date.parse(changed.expires_at)).toBeGreaterThanOrEqual(saved + 8760 * 3_600_000 - 5000);

    const before = Date.now();
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await page.getByText(/^Refreshed: now expires .* \(next year\)\.$/).waitFor();
    const token = (await sys.api(`${tokensPath()}/${tokenId}`)).body.result;
    const expires = Date.parse(token.expires_at);
    expect(expires).toBeGreaterThanOrEqual(before + 8760 * 3_600_000 - 5000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 8760 * 3_600_000 + 5000);
    await expect(page.getByTestId('expires').textContent()).resolves.toContain('next year');
    await browser.screenshot(page, 'token-detail-1280');
  });

  it('Rotate secret with a grace period shows the new secret once', async () => {
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const dialog = page.getByRole('dialog', { name: 'Rotate secret' });
    await dialog.getByLabel('Grace period for the old secret').selectOption({ label: '1 hour' });
    await dialog.getByRole('button', { name: 'Rotate now' }).click();
    await page.getByRole('heading', { name: 'The new Client Secret' }).waitFor();
    const secret = (await page.getByTestId('client-secret').textContent())!;
    expect(secret).toMatch(/^gatehouse_/);
    expect(secret).not.toBe(firstSecret);
    const token = (await sys.api(`${tokensPath()}/${tokenId}`)).body.result;
    expect(token.client_secret_version).toBe(2);
    const grace = Date.parse(token.previous_client_secret_expires_at) - Date.now();
    expect(grace).toBeGreaterThan(55 * 60_000);
    expect(grace).toBeLessThanOrEqual(3_600_000);

    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByText(/^Secret rotated\. The previous secret works until /).waitFor();
    expect(await everythingVisible(page)).not.toContain(secret);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'e2e-ci-deploy' }).waitFor();
    expect(await everythingVisible(page)).not.toContain(secret);
  });

  it('Disable and Enable', async () => {
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByText('Disabled: requests with this token are refused.').waitFor();
    expect((await sys.api(`${tokensPath()}/${tokenId}`)).body.result.enabled).toBe(false);
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.getByText('Enabled: the token is accepted again.').waitFor();
    expect((await sys.api(`${tokensPath()}/${tokenId}`)).body.result.enabled).toBe(true);
  });

  it('shows recent usage from the audit log', async () => {
    const usage = page.getByRole('region', { name: 'Recent usage (14 days)' });
    await usage.getByText('Service token rotated').waitFor();
    await usage.getByText('Service token refreshed').waitFor();
    await expect(usage.locator('svg[role="img"]').getAttribute('aria-label')).resolves.toMatch(/^\d+ events in the last 14 days$/);
  });

  it('Delete asks for confirmation, then the token is gone', async () => {
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete e2e-ci-deploy?' });
    await dialog.waitFor();
    // Cancel keeps it.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await sys.api(`${tokensPath()}/${tokenId}`)).status).toBe(200);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete e2e-ci-deploy?' }).getByRole('button', { name: 'Delete token' }).click();
    await page.getByText('Deleted service token e2e-ci-deploy.').waitFor();
    expect(page.url()).toBe(`${sys.apiUrl}/tokens`);
    expect((await sys.api(`${tokensPath()}/${tokenId}`)).status).toBe(404);
  });

  it('the audit log: a deleted token can still be chosen as a filter; details read as words; times in UTC', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await page
      .getByRole('button', { name: /^Only this token \(e2e-ci-deploy\)$/ })
      .first()
      .click();
    await expectEventually(async () => {
      expect(page.url()).toContain(`token_id=${tokenId}`);
      expect(await page.locator('table[aria-busy="true"]').count()).toBe(0);
      expect(await page.getByRole('cell', { name: /Service token deleted/ }).count()).toBe(1);
    });
    await page.getByText(`Filter by service token (e2e-ci-deploy)`).waitFor();
    // Details are labelled values, not "key: value" text; times carry their zone.
    await page.locator('dl.audit-details dt', { hasText: 'Client ID' }).first().waitFor();
    await expect(page.locator('td[data-label="When"] time').first().textContent()).resolves.toMatch(/ UTC$/);
    expect(await page.locator('td[data-label="Details"]').allTextContents()).not.toContainEqual(expect.stringMatching(/clientId: /));
    // The ID field takes a token ID by hand (a deleted token has no search hit).
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByText('Filter by service token', { exact: true }).click();
    await page.getByLabel('Or a token ID (also of a deleted token)').fill(tokenId);
    await page.getByLabel('Or a token ID (also of a deleted token)').press('Enter');
    await expectEventually(() => expect(page.url()).toContain(`token_id=${tokenId}`));
    await browser.screenshot(page, 'audit-deleted-token-1280');
  });

  it('searches and pages on the server; the timeline shows upcoming expiries', async () => {
    for (let i = 0; i < 45; i++) {
      const res = await sys.api(tokensPath(), { method: 'POST', json: { name: `batch-${String(i).padStart(2, '0')}`, duration: i < 3 ? '240h' : '8760h' } });
      expect(res.status).toBe(200);
    }
    await page.goto(`${sys.apiUrl}/tokens`);
    await page.getByText('1–20 of 45 tokens').waitFor();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('21–40 of 45 tokens').waitFor();
    expect(page.url()).toContain('page=2');
    await page.getByLabel('Search tokens').fill('batch-1');
    await page.getByText('1–10 of 10 tokens').waitFor();
    await expect(page.locator('tbody tr').count()).resolves.toBe(10);
    await page.getByLabel('Search tokens').fill('no-such-token');
    await page.getByText('No token matches "no-such-token".').waitFor();
    await page.getByLabel('Search tokens').fill('');
    await page.getByText('1–20 of 45 tokens').waitFor();
    await page.getByText(/^3 tokens expire in the next 90 days; the first, /).waitFor();
    await expect(page.locator('.timeline rect.bar').count()).resolves.toBe(1);
    await browser.screenshot(page, 'tokens-1280');

    await page.getByText(/"Expiring soon" marks a token within 30 days of its expiry; expiry alerts are sent 7 days before it\./).waitFor();
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByText('Service Tokens').waitFor();

    await page.setViewportSize(PHONE);
    await page.getByText('1–20 of 45 tokens').waitFor();
    await browser.screenshot(page, 'tokens-390', { fullPage: false });
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    // Every entry of the side navigation is on screen at 390 px (none cut off or scrolled away).
    const nav = page.getByRole('navigation', { name: 'Main' }).getByRole('link');
    for (let i = 0; i < (await nav.count()); i++) {
      const box = (await nav.nth(i).boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
    }
    await page.getByRole('link', { name: 'batch-00' }).click();
    await page.getByRole('heading', { level: 1, name: 'batch-00' }).waitFor();
    // The same breadcrumb on every page: the section is a link below its own page.
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Service Tokens' }).waitFor();
    await browser.screenshot(page, 'token-detail-390', { fullPage: false });
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await page.setViewportSize(WIDE);
  });

  it('is keyboard usable: skip link, then Tab reaches Create Service Token', async () => {
    await page.goto(`${sys.apiUrl}/tokens`);
    await page.getByRole('heading', { level: 1, name: 'Service Tokens' }).waitFor();
    await page.keyboard.press('Tab');
    await expect(inPage(page, 'document.activeElement?.textContent')).resolves.toBe('Create Service Token');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Create Service Token' }).waitFor();
    await expect(inPage(page, 'document.activeElement?.tagName')).resolves.toBe('H1');
    expect(browser.errors).toEqual([]);
  });
});

/** GET through the gateway with a Host header (fetch cannot set Host). */
function viaGateway(port: number, host: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/hello', method: 'GET', headers: { host, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard: applications, gateway and notifications', () => {
  let sys: System;
  let browser: Browser;
  let page: Page;
  let accountId: string;
  let upstream: Server;
  let smtp: SMTPServer;
  let gatewayPort: number;
  let clientId = '';
  let clientSecret = '';
  let appId = '';

  beforeAll(async () => {
    upstream = createServer((_req, res) => res.end('hello from upstream'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    smtp = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS'], onData: (s, _session, cb) => (s.resume(), s.on('end', () => cb())) });
    const smtpPort = await freePort();
    await new Promise<void>((r) => smtp.listen(smtpPort, '127.0.0.1', r));
    gatewayPort = await freePort();
    sys = await startSystem({
      env: { GATEHOUSE_DASHBOARD_DIR: assertDashboardBuilt() },
      extra: [
        { name: 'auth-service', migrate: true, env: { GATEHOUSE_GATEWAY_PORT: String(gatewayPort) } },
        { name: 'notification-service', migrate: true, env: { SMTP_URL: `smtp://127.0.0.1:${smtpPort}` } },
      ],
    });
    accountId = await sys.defaultAccountId();
    browser = await launchBrowser(sys.apiUrl);
    page = await browser.newPage(WIDE);
    await signIn(page, sys);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
    await new Promise((r) => smtp?.close(() => r(undefined)));
    await new Promise((r) => upstream?.close(() => r(undefined)));
  });

  it('creates a token for the gateway', async () => {
    await page.getByRole('link', { name: 'Create Service Token' }).click();
    await page.getByLabel(/Service token name/).fill('gw-token');
    await page.getByRole('button', { name: 'Generate token' }).click();
    clientId = (await page.getByTestId('client-id').textContent())!;
    clientSecret = (await page.getByTestId('client-secret').textContent())!;
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('heading', { level: 1, name: 'gw-token' }).waitFor();
  });

  it('creates an application with a Service Auth policy; the token gets through the gateway', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Applications' }).click();
    await page.getByRole('heading', { level: 1, name: 'Applications' }).waitFor();
    await page.getByRole('link', { name: 'Add an application' }).click();
    await page.getByLabel(/Application name/).fill('e2e-app');
    await page.getByLabel(/Domain/).fill('https://e2e-app.test');
    await page.getByLabel('Upstream URL').fill(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    await page.getByRole('button', { name: 'Create application' }).click();
    await page.getByText(/Leave out the scheme/).waitFor();
    await page.getByLabel(/Domain/).fill('e2e-app.test');
    await page.getByRole('button', { name: 'Create application' }).click();
    await page.getByRole('heading', { level: 1, name: 'e2e-app' }).waitFor();
    appId = page.url().split('/apps/')[1]!;
    const app = await sys.api(`/client/v4/accounts/${accountId}/access/apps/${appId}`);
    expect(app.body.result).toMatchObject({ name: 'e2e-app', domain: 'e2e-app.test', session_duration: '24h' });

    await page.getByRole('button', { name: 'Add a policy' }).click();
    await page.getByLabel(/Policy name/).fill('allow-gw');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Pick at least one service token, or allow any valid service token.').waitFor();
    await page.getByLabel('Service tokens: search by name or client ID').fill('gw-token');
    await page
      .getByRole('list', { name: 'Matching tokens' })
      .getByLabel(/gw-token/)
      .check();
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Saved policy allow-gw.').waitFor();
    await page.getByText('Include: Service token gw-token').waitFor();
    await browser.screenshot(page, 'application-1280');

    await expectEventually(
      async () => {
        const res = await viaGateway(gatewayPort, 'e2e-app.test', { 'CF-Access-Client-Id': clientId, 'CF-Access-Client-Secret': clientSecret });
        expect(res).toEqual({ status: 200, body: 'hello from upstream' });
      },
      { timeoutMs: 20_000 },
    );
    const wrong = await viaGateway(gatewayPort, 'e2e-app.test', { 'CF-Access-Client-Id': clientId, 'CF-Access-Client-Secret': 'gatehouse_wrong' });
    expect(wrong.status).toBeGreaterThanOrEqual(400);

    await page.getByRole('button', { name: 'Revoke existing sessions' }).click();
    await page.getByRole('dialog', { name: 'Revoke existing sessions?' }).getByRole('button', { name: 'Revoke sessions' }).click();
    await page.getByText(/^Existing sessions revoked/).waitFor();
    const revoked = await sys.api(`/client/v4/accounts/${accountId}/access/apps/${appId}`);
    expect(revoked.body.result.sessions_revoked_at).toEqual(expect.any(String));
  });

  it('the delete confirmation names the policies that use the token', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Service Tokens' }).click();
    await page.getByRole('link', { name: 'gw-token' }).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete gw-token?' });
    await expect(dialog.getByTestId('policy-usage').textContent()).resolves.toContain('e2e-app › allow-gw');
    await browser.screenshot(page, 'delete-confirm-1280');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  it('the audit log filters by application and decision', async () => {
    // Both decisions stored before the page loads: it fetches once per filter, and the denial (the
    // last request) can reach the log a flush after the grants (CI, 846db30).
    for (const type of ['access.allowed', 'access.denied']) {
      await expectEventually(
        async () => {
          const res = await sys.api(`/client/v4/accounts/${accountId}/audit_logs?resource_id=${appId}&action.type=${type}`);
          expect(res.body.result_info.total_count).toBeGreaterThan(0);
        },
        { timeoutMs: 20_000 },
      );
    }
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Application').selectOption({ label: 'e2e-app' });
    await page.getByLabel('Action or decision').selectOption({ label: 'Access allowed' });
    const cells = (name: string) => page.getByRole('cell', { name }).count();
    await expectEventually(async () => {
      expect(page.url()).toContain('action=access.allowed');
      expect(await page.locator('table[aria-busy="true"]').count()).toBe(0);
      expect(await cells('Access allowed')).toBeGreaterThan(0);
      expect(await cells('Access denied')).toBe(0);
    });
    await page.getByLabel('Action or decision').selectOption({ label: 'Access denied' });
    await expectEventually(async () => {
      expect(await page.locator('table[aria-busy="true"]').count()).toBe(0);
      expect(await cells('Access denied')).toBeGreaterThan(0);
      expect(await cells('Access allowed')).toBe(0);
    });
    await browser.screenshot(page, 'audit-1280');

    // The token's own page counts its access decisions in "Recent usage".
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Service Tokens' }).click();
    await page.getByRole('link', { name: 'gw-token' }).click();
    const usage = page.getByRole('region', { name: 'Recent usage (14 days)' });
    await usage.getByText('Access allowed to e2e-app').first().waitFor();
  });

  it('the audit log names the token of an access decision', async () => {
    const actor = page.locator('td[data-label="Actor"]', { hasText: 'gw-token' }).first();
    await page.goto(`${sys.apiUrl}/audit?action=access.allowed`);
    await actor.waitFor();
    await expect(actor.textContent()).resolves.toMatch(/^gw-token service token/);
  });

  it('manages a reusable policy on the Policies page, links it from an application, and lists the apps using it', async () => {
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const linked = await sys.api(`/client/v4/accounts/${accountId}/access/apps`, {
      method: 'POST',
      json: { name: 'e2e-linked', domain: 'e2e-linked.test', upstream: upstreamUrl },
    });
    expect(linked.status).toBe(200);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policies' }).click();
    await page.getByRole('heading', { level: 1, name: 'Policies' }).waitFor();
    await page.getByText('No reusable policies yet.').waitFor();
    await page.getByRole('link', { name: 'Add a policy' }).click();
    await page.getByLabel(/Policy name/).fill('shared-gw');
    await page.getByLabel('Service tokens: search by name or client ID').fill('gw-token');
    await page
      .getByRole('list', { name: 'Matching tokens' })
      .getByLabel(/gw-token/)
      .check();
    await page.getByLabel('Session duration (optional)').fill('soon');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText(/Use hours, minutes or seconds/).waitFor();
    await page.getByLabel('Session duration (optional)').fill('30m');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByRole('heading', { level: 1, name: 'shared-gw' }).waitFor();
    await page.getByText('No application links this policy yet.', { exact: false }).waitFor();

    await page.goto(`${sys.apiUrl}/apps/${linked.body.result.id}`);
    await page.getByRole('heading', { level: 1, name: 'e2e-linked' }).waitFor();
    await page
      .getByRole('group', { name: 'Linked reusable policies' })
      .getByLabel(/shared-gw/)
      .check();
    await page.getByRole('button', { name: 'Save linked policies' }).click();
    await page.getByText('Linked 1 reusable policy.').waitFor();
    await page.getByRole('list', { name: 'Linked policies' }).getByRole('link', { name: 'shared-gw' }).waitFor();
    await expectEventually(
      async () =>
        expect(await viaGateway(gatewayPort, 'e2e-linked.test', { 'CF-Access-Client-Id': clientId, 'CF-Access-Client-Secret': clientSecret })).toEqual({
          status: 200,
          body: 'hello from upstream',
        }),
      { timeoutMs: 5000 },
    );

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policies' }).click();
    const row = page.getByRole('row', { name: /shared-gw/ });
    await row.getByRole('list', { name: 'Applications using shared-gw' }).getByRole('link', { name: 'e2e-linked' }).waitFor();
    await row.getByText('Service token gw-token').waitFor();
    await browser.screenshot(page, 'policies-1280');

    // Deleting it while an app links it is refused, naming the app.
    await row.getByRole('link', { name: 'shared-gw' }).click();
    await page.getByRole('heading', { level: 1, name: 'shared-gw' }).waitFor();
    await page.getByRole('button', { name: 'Delete policy' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete shared-gw?' });
    await dialog.getByText(/still used by e2e-linked/).waitFor();
    await dialog.getByRole('button', { name: 'Delete policy' }).click();
    await expect(dialog.getByRole('alert').textContent()).resolves.toMatch(/e2e-linked/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await sys.api(`/client/v4/accounts/${accountId}/access/policies`)).body.result).toHaveLength(1);

    await page.setViewportSize(PHONE);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policies' }).click();
    await page.getByRole('heading', { level: 1, name: 'Policies' }).waitFor();
    await page.getByText('Service token gw-token').waitFor();
    await browser.screenshot(page, 'policies-390', { fullPage: false });
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await page.setViewportSize(WIDE);
  });

  it('creates an Expiring Access Service Token alert with two email recipients', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Notifications' }).click();
    await page.getByRole('link', { name: 'Create alert' }).click();
    await page.getByLabel(/Alert name/).fill('expiry-ops');
    await page.getByLabel('Description').fill('Tell ops a week before');
    await page.getByLabel('Email recipient 1').fill('ops@example.com');
    await page.getByRole('button', { name: '+ Add email recipient' }).click();
    await expect(inPage(page, 'document.activeElement?.id')).resolves.toBe('email-1');
    await page.getByLabel('Email recipient 2').fill('not-an-address');
    await page.getByRole('button', { name: 'Create alert' }).click();
    await page.getByText('"not-an-address" is not an email address (expected name@example.com).').waitFor();
    await page.getByLabel('Email recipient 2').fill('security@example.com');
    await browser.screenshot(page, 'alert-form-1280');
    await page.getByRole('button', { name: 'Create alert' }).click();
    await page.getByText('Created alert expiry-ops.').waitFor();
    await page.getByRole('cell', { name: 'ops@example.com, security@example.com' }).waitFor();
    const list = await sys.api(`/client/v4/accounts/${accountId}/alerting/v3/policies`);
    expect(list.body.result).toHaveLength(1);
    expect(list.body.result[0]).toMatchObject({
      name: 'expiry-ops',
      description: 'Tell ops a week before',
      enabled: true,
      alert_type: 'expiring_service_token_alert',
      mechanisms: { email: [{ id: 'ops@example.com' }, { id: 'security@example.com' }] },
    });
    await page.getByRole('heading', { name: 'Alert history' }).waitFor();
    await browser.screenshot(page, 'notifications-1280');
    await page.setViewportSize(PHONE);
    await browser.screenshot(page, 'notifications-390', { fullPage: false });
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    expect(browser.errors).toEqual([]);
  });
});
