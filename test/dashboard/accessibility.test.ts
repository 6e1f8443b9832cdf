/**
 * axe-core on every view of the dashboard, at a laptop's and a phone's size, in light and dark: no
 * serious or critical finding (labels, names, contrast, landmarks, focusable scrolling regions…).
 * Real Chromium, a real server with bwrap sandboxes, and data in every view.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { AirlockClient } from '../../src/sdk/index.ts';
import { startTestServer } from '../api/support.ts';
import type { TestServer } from '../api/support.ts';
import {
  describeInChromium,
  DESKTOP,
  ensureDashboardBuilt,
  launchBrowser,
  openPage,
  PHONE,
  signIn,
  until,
} from './browser.ts';
import { runAxe } from './in-page.js';
import type { AxeFinding } from './in-page.js';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Scans the page as it is; axe is loaded through DevTools, which the page's CSP does not govern. */
async function scan(page: Page): Promise<AxeFinding[]> {
  await page.evaluate(axeSource);
  return (await page.evaluate(runAxe)).filter(
    (finding) => finding.impact === 'serious' || finding.impact === 'critical',
  );
}

describeInChromium('the dashboard is accessible', () => {
  let browser: Browser;
  let server: TestServer;
  let sessionId: string;
  let approvalId: string;

  beforeAll(async () => {
    ensureDashboardBuilt();
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it.each([
    ['a laptop, light', DESKTOP, 'light'],
    ['a phone, dark', PHONE, 'dark'],
  ] as const)(
    'has no serious or critical axe finding on %s',
    async (_name, viewport, colorScheme) => {
      server = await startTestServer({
        airlock: { config: { router: { approvalRequiredFor: ['touch'] } }, monitorIntervalMs: 200 },
      });
      const admin = new AirlockClient({ url: server.url, token: server.adminToken });
      const session = await admin.sessions.create({});
      sessionId = session.id;
      await session.run('echo hello; ls -la /workspace');
      await session.run('rm -rf /');
      const pending = await session.start('touch /workspace/release && echo released');
      approvalId = pending.started?.approvalId ?? '';

      const { page, context } = await openPage(browser, viewport, { colorScheme });
      const findings: Record<string, AxeFinding[]> = {};
      await page.goto(server.url);
      await page.getByLabel('Token').waitFor();
      findings['sign-in'] = await scan(page);
      await signIn(page, server.url, server.adminToken);

      const views: [string, string, () => Promise<void>][] = [
        ['sessions', '#/sessions', () => page.locator('.sessions-table').waitFor()],
        ['session', `#/sessions/${sessionId}`, () => page.locator('.usage-table').waitFor()],
        [
          'commands',
          '#/commands',
          async () => {
            await page.getByRole('button', { name: /Show output of echo hello/ }).click();
            await until(
              async () =>
                ((await page.getByLabel(/^Output of echo hello/).textContent()) ?? '').includes('hello'),
              'the output',
            );
          },
        ],
        [
          'approvals',
          `#/approvals/${approvalId}`,
          () => page.getByRole('button', { name: /^Approve/ }).waitFor(),
        ],
        [
          'audit',
          '#/audit',
          async () => {
            await page.getByText(/The audit log is intact/).waitFor();
            await page.locator('.event summary').first().click();
          },
        ],
        [
          'shortcuts',
          '#/sessions',
          async () => {
            await page.keyboard.press('?');
            await page.getByRole('dialog').waitFor();
          },
        ],
      ];
      for (const [name, hash, ready] of views) {
        await page.goto(`${server.url}/${hash}`);
        await ready();
        findings[name] = await scan(page);
      }
      expect(Object.keys(findings)).toHaveLength(views.length + 1);
      expect(findings).toEqual(Object.fromEntries(Object.keys(findings).map((name) => [name, []])));
      await context.close();
      // Seven views, each loaded, filled and scanned: well under 30 s alone, several times that on a
      // machine busy with other suites.
    },
    150_000,
  );
});
