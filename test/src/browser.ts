import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from './system.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'dashboard');
export const DASHBOARD_DIST = join(ROOT, 'apps', 'dashboard', 'dist');

export interface Browser {
  context: BrowserContext;
  /** Uncaught page errors and console errors seen so far (a test can assert there were none). */
  errors: string[];
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  screenshot(page: Page, name: string, options?: { fullPage?: boolean }): Promise<string>;
  close(): Promise<void>;
}

/** Fails early and clearly when the dashboard has not been built (the API would not serve it). */
export function assertDashboardBuilt(): string {
  if (!existsSync(join(DASHBOARD_DIST, 'index.html'))) {
    throw new Error(`${DASHBOARD_DIST}/index.html is missing: run \`npx turbo run build --filter=@gatehouse/dashboard\` first`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  return DASHBOARD_DIST;
}

/**
 * Debian's Chromium driven by playwright-core, in a fresh profile directory (never
 * `npx playwright install`). Clipboard access is granted for `origin` so copy buttons can be
 * checked by reading the clipboard back.
 */
export async function launchBrowser(origin: string): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'gatehouse-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 860 },
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // 4xx answers the test provokes on purpose show up as console errors; keep only script errors.
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
    });
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  await mkdir(ARTIFACTS, { recursive: true });
  return {
    context,
    errors,
    async newPage(viewport) {
      const page = context.pages().find((p) => p.url() === 'about:blank') ?? (await context.newPage());
      if (viewport) await page.setViewportSize(viewport);
      return page;
    },
    async screenshot(page, name, options) {
      const path = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: options?.fullPage ?? true });
      return path;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
