/**
 * Real headless Chromium for the dashboard's tests (Debian's `chromium`, driven by playwright-core):
 * a fresh profile per browser, and the flags that keep it off the network it must not reach. Without
 * Chromium the suites are skipped, each naming the reason; CI (AIRLOCK_REQUIRE_BROWSER=1, set by
 * `.ci/run`) fails instead, so a missing browser never passes there as a skip.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';

export const CHROMIUM_PATH = process.env['AIRLOCK_CHROMIUM'] ?? '/usr/bin/chromium';

/**
 * Without the background-networking flags Chromium keeps trying to reach Google services (updates,
 * sync, field trials), which on a closed network is a flood of refused connections.
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const DESKTOP = { width: 1280, height: 720 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserUnavailable(): string | undefined {
  if (!existsSync(CHROMIUM_PATH))
    return `${CHROMIUM_PATH} is missing (Debian: apt-get install chromium, or scripts/setup.sh; AIRLOCK_CHROMIUM names another)`;
  return undefined;
}

/**
 * A suite that needs Chromium. Without it: skipped with the reason in its title, or, where the
 * browser is required (AIRLOCK_REQUIRE_BROWSER=1), a single failing test that says what is missing.
 */
export function describeInChromium(title: string, body: () => void): void {
  const reason = browserUnavailable();
  if (reason === undefined) {
    describe(title, body);
  } else if (process.env['AIRLOCK_REQUIRE_BROWSER'] === '1') {
    describe(title, () => {
      it('has Chromium to run in (AIRLOCK_REQUIRE_BROWSER)', () => {
        throw new Error(`the dashboard must be tested here but cannot: ${reason}`);
      });
    });
  } else {
    describe.skip(`${title} (skipped: ${reason})`, body);
  }
}

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Builds web/dist when its sources are newer (a no-op after `npm ci` on an unchanged checkout). */
export function ensureDashboardBuilt(): void {
  const built = spawnSync(process.execPath, ['scripts/build-web.mjs'], { cwd: root, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`building the dashboard failed: ${built.stderr}`);
}

/** `playwright-core`'s launch makes a fresh temporary profile (user-data-dir) and removes it on close. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS });
}

export interface Watched {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Every URL the page requested, to check no token ever travels in one. */
  readonly urls: string[];
  /** Uncaught page errors and CSP violations: a clean page has none. */
  readonly problems: string[];
}

export async function openPage(
  browser: Browser,
  viewport: { width: number; height: number } = DESKTOP,
  options: { readonly colorScheme?: 'light' | 'dark'; readonly bypassCSP?: boolean } = {},
): Promise<Watched> {
  const context = await browser.newContext({
    viewport,
    colorScheme: options.colorScheme ?? 'light',
    bypassCSP: options.bypassCSP ?? false,
  });
  const page = await context.newPage();
  const urls: string[] = [];
  const problems: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Trusted Type/i.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
  return { page, context, urls, problems };
}

/** Signs in through the form, as a person does. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect
    .poll(() => page.getByRole('navigation', { name: 'Views' }).isVisible(), { timeout: 15_000 })
    .toBe(true);
}

/** Waits until `check` holds, polling; fails with `what` after the timeout. */
export async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
