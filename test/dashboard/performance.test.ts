/**
 * How the dashboard holds up, measured in real Chromium against a real server with bwrap sandboxes:
 * the first load with 50 live sessions (beside the same load with none, in the same run), and a command
 * printing about 1,000 lines a second streamed into the page (beside the same page idle). Figures are
 * printed beside the target; the test fails when a line is lost, the page freezes, or the first load
 * grows with sessions far past the same run's one-session load (LOADED_OVER_BASELINE): the absolute
 * target is reported, never gated, since a shared CI machine's load decides it more than the page.
 */
import { availableParallelism, loadavg } from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { AirlockClient } from '../../src/sdk/index.ts';
import { startTestServer } from '../api/support.ts';
import type { TestServer } from '../api/support.ts';
import {
  describeInChromium,
  ensureDashboardBuilt,
  launchBrowser,
  openPage,
  signIn,
  until,
} from './browser.ts';
import { outputLines, sessionsShown, stopWatching, watchResponsiveness } from './in-page.js';
import type { Responsiveness } from './in-page.js';

/** The target for the first load with 50 live sessions, on a machine doing nothing else. */
const FIRST_LOAD_TARGET_MS = 1000;
/**
 * On a machine busy with other work every load is slower, and unevenly (2.5× was seen from load
 * alone in a full CI run): the bound is the same run's one-session load times this, so it catches a
 * dashboard that slows with sessions, not a busy machine.
 */
const LOADED_OVER_BASELINE = 5;
/** A frame this late is a page that froze, whatever the machine's load. */
const FROZEN_FRAME_MS = 1000;
const LIVE_SESSIONS = 50;
/**
 * 50 bursts of 200 lines, 0.1 s apart: up to 2,000 lines a second, so that even a sandbox slowed by a
 * busy machine produces at least 1,000 (the figure printed is what it produced).
 */
const STREAM_LINES = 10_000;
/**
 * It waits first: the page opens the command's stream when its row appears, and a stream opened late
 * starts with the newest output only (the rest is in the stored output), which would not be a fair count.
 */
const QUIET_START_MS = 2000;
const STREAM_COMMAND = `sleep ${QUIET_START_MS / 1000}; for s in $(seq 1 50); do seq -f "line $s.%g of the build log, streamed to the dashboard" 1 200; sleep 0.1; done`;

/** A cold first load (new browser profile, signed in): navigation start until every session shows its charts. */
async function firstLoadMs(browser: Browser, server: TestServer, sessions: number): Promise<number> {
  const { page, context } = await openPage(browser);
  const signedIn = await context.request.post(`${server.url}/v1/auth/session`, {
    data: { token: server.adminToken },
    headers: { origin: server.url },
  });
  expect(signedIn.status()).toBe(200);
  await page.goto(`${server.url}/#/sessions`);
  const shown = await page.waitForFunction(sessionsShown, sessions, { timeout: 30_000 });
  const ms = (await shown.jsonValue()) as number;
  await context.close();
  return ms;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function describeFrames(name: string, frames: Responsiveness): string {
  return (
    `${name}: ${frames.frames} frames in ${frames.seconds.toFixed(1)} s, frame gap p50 ${frames.p50FrameMs.toFixed(1)} ms, ` +
    `p95 ${frames.p95FrameMs.toFixed(1)} ms, max ${frames.maxFrameMs.toFixed(1)} ms; ${frames.longTasks} long tasks ` +
    `(${frames.longTaskMs.toFixed(0)} ms in all, longest ${frames.maxLongTaskMs.toFixed(0)} ms)`
  );
}

describeInChromium('the dashboard under load', () => {
  let browser: Browser;

  beforeAll(async () => {
    ensureDashboardBuilt();
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it(
    `loads with ${LIVE_SESSIONS} live sessions within ${LOADED_OVER_BASELINE}× one session's load (target ${FIRST_LOAD_TARGET_MS} ms, printed)`,
    { timeout: 180_000 },
    async () => {
      const server = await startTestServer({
        airlock: { config: { sessions: { max: LIVE_SESSIONS + 5 } }, monitorIntervalMs: 500 },
      });
      const admin = new AirlockClient({ url: server.url, token: server.adminToken });
      const one = await admin.sessions.create({});
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const baseline = [];
      for (let run = 0; run < 3; run++) baseline.push(await firstLoadMs(browser, server, 1));

      await Promise.all(Array.from({ length: LIVE_SESSIONS - 1 }, () => admin.sessions.create({})));
      // Every session has been sampled at least twice, so each row draws its charts.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const loaded = [];
      for (let run = 0; run < 3; run++) loaded.push(await firstLoadMs(browser, server, LIVE_SESSIONS));
      process.stdout.write(
        `dashboard first load (navigation start to every session's charts), cold profile, 3 runs each:\n` +
          `  1 live session (baseline): median ${median(baseline).toFixed(0)} ms (${baseline.map((ms) => ms.toFixed(0)).join(', ')})\n` +
          `  ${LIVE_SESSIONS} live sessions:          median ${median(loaded).toFixed(0)} ms (${loaded.map((ms) => ms.toFixed(0)).join(', ')}); target ${FIRST_LOAD_TARGET_MS} ms\n` +
          `  load average now: ${loadavg()
            .map((value) => value.toFixed(1))
            .join(' ')} on ${availableParallelism()} cores\n`,
      );
      expect(one.id).toMatch(/^ses_/);
      expect(median(loaded)).toBeLessThan(
        Math.max(FIRST_LOAD_TARGET_MS, LOADED_OVER_BASELINE * median(baseline)),
      );
    },
  );

  it(
    'streams over 1,000 output lines a second without losing a line or freezing the page',
    { timeout: 180_000 },
    async () => {
      const server = await startTestServer();
      const admin = new AirlockClient({ url: server.url, token: server.adminToken });
      const session = await admin.sessions.create({});
      const { page, context, problems } = await openPage(browser);
      await signIn(page, server.url, server.adminToken);
      await page.getByRole('link', { name: 'Commands' }).click();
      await page.getByRole('heading', { name: 'Commands' }).waitFor();

      await page.evaluate(watchResponsiveness);
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const idle = await page.evaluate(stopWatching);

      await page.evaluate(watchResponsiveness);
      const started = Date.now();
      const handle = await session.start(STREAM_COMMAND);
      const result = await handle.wait({ timeoutMs: 120_000 });
      const ranMs = Date.now() - started - QUIET_START_MS;
      await until(
        async () => (await page.evaluate(outputLines)) >= STREAM_LINES,
        `${STREAM_LINES} lines on the page`,
        30_000,
      );
      const lagMs = Date.now() - started - QUIET_START_MS - ranMs;
      const streaming = await page.evaluate(stopWatching);
      const text = (await page.getByLabel(/^Output of sleep/).textContent()) ?? '';

      process.stdout.write(
        `command output streamed into the dashboard: ${STREAM_LINES} lines in ${(ranMs / 1000).toFixed(1)} s ` +
          `(${Math.round(STREAM_LINES / (ranMs / 1000))} lines/s as produced), all on the page ${lagMs} ms after the command ended\n` +
          `  ${describeFrames('idle page (baseline)', idle)}\n` +
          `  ${describeFrames('while streaming', streaming)}\n`,
      );
      expect(result).toMatchObject({ status: 'completed', exitCode: 0 });
      expect(STREAM_LINES / (ranMs / 1000)).toBeGreaterThan(1000);
      expect(await page.evaluate(outputLines)).toBe(STREAM_LINES);
      expect(text).toContain('line 50.200 of the build log');
      expect(streaming.maxFrameMs).toBeLessThan(FROZEN_FRAME_MS);
      expect(problems).toEqual([]);
      await context.close();
    },
  );
});
