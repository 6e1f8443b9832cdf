#!/usr/bin/env node
/**
 * Writes a screenshot of each dashboard view at a laptop's size (1280×720, light) and a phone's
 * (390×844, dark) under docs/screenshots/, for the README. It runs a real server on 127.0.0.1 in a
 * temporary home with real sandboxes and a few agent commands (one refused, one waiting for a person),
 * a session reaching a web server on 127.0.0.1 through the egress proxy (one host allowed, one refused,
 * one waiting for a person), an agent run against the tests' scripted model server on 127.0.0.1, and
 * Debian's Chromium (AIRLOCK_CHROMIUM names another).
 *
 *   npm run screenshots                  rewrite docs/screenshots/*.png
 *   npm run screenshots -- --out DIR     write them elsewhere
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { createAirlock } from '../src/index.ts';
import type { Airlock } from '../src/index.ts';
import { createServer, loadOrCreateAdminToken } from '../src/server/index.ts';
import { AirlockClient } from '../src/sdk/index.ts';
import type { ApprovalRecord } from '../src/sdk/index.ts';
import { startModelServer } from '../test/support/model-server.ts';

const root = resolve(import.meta.dirname, '..');
const CHROMIUM_PATH = process.env['AIRLOCK_CHROMIUM'] ?? '/usr/bin/chromium';
/** As in the browser tests: keep Chromium from reaching for Google's services on a closed network. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SIZES = [
  { name: 'desktop', viewport: { width: 1280, height: 720 }, colorScheme: 'light' },
  { name: 'phone', viewport: { width: 390, height: 844 }, colorScheme: 'dark' },
] as const;
const READY_TIMEOUT_MS = 30_000;

/** A minute of work that shows in the charts: sorting keeps a core and some memory busy. */
const BUSY_COMMAND =
  'for i in $(seq 1 120); do echo "pass $i: $(seq 1 200000 | sort -r | head -1)"; sleep 0.2; done';

interface Demo {
  readonly url: string;
  readonly token: string;
  readonly sessionId: string;
  readonly approvalId: string;
  readonly runId: string;
}

/** The hosts the sessions' network names; all lead to a web server the script runs on 127.0.0.1. */
const WEB_HOSTS = ['docs.example.test', 'pkg.example.test', 'tracker.example.test'];

interface View {
  readonly name: string;
  readonly hash: string | null;
  readonly ready: (page: Page) => Promise<void>;
}

function views(demo: Demo): readonly View[] {
  return [
    { name: 'sign-in', hash: null, ready: (page) => page.getByLabel('Token').waitFor() },
    {
      name: 'sessions',
      hash: '#/sessions',
      // A flat chart has no height, which Playwright counts as hidden: attached is enough.
      ready: (page) => page.locator('.sparkline__line').first().waitFor({ state: 'attached' }),
    },
    {
      name: 'session',
      hash: `#/sessions/${demo.sessionId}`,
      ready: (page) => page.locator('.usage-table').waitFor(),
    },
    {
      name: 'commands',
      hash: '#/commands',
      ready: async (page) => {
        // A running command's output is open already, streaming.
        await page.getByText('pass 3:').first().waitFor({ timeout: READY_TIMEOUT_MS });
      },
    },
    {
      name: 'approval',
      hash: `#/approvals/${demo.approvalId}`,
      ready: (page) => page.getByRole('button', { name: /^Approve/ }).waitFor(),
    },
    {
      name: 'egress',
      hash: '#/egress',
      ready: async (page) => {
        await page.locator('.ask').first().waitFor({ timeout: READY_TIMEOUT_MS });
        await page.locator('.connections-table tbody tr').first().waitFor();
      },
    },
    {
      name: 'agent-run',
      hash: `#/agents/${demo.runId}`,
      ready: (page) => page.getByText('Run ended').waitFor({ timeout: READY_TIMEOUT_MS }),
    },
    { name: 'audit', hash: '#/audit', ready: (page) => page.getByText(/The audit log is intact/).waitFor() },
  ];
}

/** An agent run through the OpenAI SDK against a scripted model: two commands, one refused. */
async function agentRun(airlock: Airlock): Promise<string> {
  const model = await startModelServer([
    {
      text: 'First, what is in the workspace.',
      toolCalls: [{ name: 'run_command', arguments: { command: 'ls -la /workspace' } }],
      usage: { input: 812, output: 41 },
    },
    {
      text: 'Writing the notes.',
      toolCalls: [{ name: 'write_file', arguments: { path: 'notes.md', content: '# Notes\n\nforty-two\n' } }],
      usage: { input: 1020, output: 66 },
    },
    {
      toolCalls: [{ name: 'run_command', arguments: { command: 'rm -rf / --no-preserve-root' } }],
      usage: { input: 1205, output: 28 },
    },
    {
      toolCalls: [{ name: 'run_command', arguments: { command: 'wc -l notes.md && cat notes.md' } }],
      usage: { input: 1390, output: 35 },
    },
    {
      text: 'Done: notes.md holds the answer. The cleanup command was refused, as it should be.',
      usage: { input: 1510, output: 24 },
    },
  ]);
  try {
    let runId = '';
    for await (const event of airlock.agents.run({
      task: 'Write the answer into notes.md, then clean up.',
      model: 'scripted-model',
      baseUrl: model.baseUrl,
      recordPrompts: true,
    })) {
      if (event.type === 'run_started') runId = event.runId;
    }
    return runId;
  } finally {
    await model.close();
  }
}

/** The egress question about `host`, once the proxy has asked it. */
async function egressAsk(admin: AirlockClient, host: string): Promise<ApprovalRecord> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const pending = await admin.approvals.list({ status: 'pending' });
    const ask = pending.find((approval) => approval.action === 'egress' && approval.subject.startsWith(host));
    if (ask !== undefined) return ask;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`the egress proxy never asked about ${host}`);
}

/** A web server for the sessions' network to reach; closed with the script. */
async function webServer(): Promise<{ port: number; close: () => void }> {
  const server = createHttpServer((_request, response) => response.end('{"ok":true}\n'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

/**
 * Two sessions with a little history: commands that ran, one the policy refused, one awaiting a
 * person; one session's network traffic (allowed, refused, waiting for a person); an agent run.
 */
async function seed(url: string, token: string, airlock: Airlock, webPort: number): Promise<Demo> {
  const admin = new AirlockClient({ url, token });
  const web = await admin.sessions.create({});
  await web.run(
    `curl -s http://docs.example.test:${webPort}/guide && curl -s http://docs.example.test:${webPort}/api`,
  );
  // Code in the sandbox reaching hosts off the list: the proxy asks a person about each connection.
  // This one is denied, so it shows among the refused hosts.
  await web.files.write('report.sh', `curl -s http://tracker.example.test:${webPort}/collect\n`);
  const tracker = await web.start('sh report.sh');
  const trackerAsk = await egressAsk(admin, 'tracker.example.test');
  await admin.approvals.deny(trackerAsk.id, { reason: 'not needed for this task' });
  await tracker.wait();
  // This one waits for a person in the egress view (and the approvals queue) while the pictures are taken.
  await web.files.write('fetch.sh', `curl -s http://pkg.example.test:${webPort}/index.json\n`);
  await web.start('sh fetch.sh', { timeoutMs: 180_000 });
  await egressAsk(admin, 'pkg.example.test');
  const runId = await agentRun(airlock);
  const build = await admin.sessions.create({});
  const reader = await admin.sessions.create({ policy: 'readonly' });
  await build.run('git --version; uname -sr');
  await build.run('ls -la /workspace');
  await build.run('rm -rf /');
  await build.run('seq -f "line %g of the build log" 1 200');
  await reader.run('ls -la /workspace');
  // Still running when the pictures are taken: its output streams, and its CPU and memory show.
  await build.start(BUSY_COMMAND, { timeoutMs: 180_000 });
  const pending = await build.start('touch /workspace/release && echo released');
  // The resource monitor samples every 500 ms: several samples draw each session's charts.
  await new Promise((done) => setTimeout(done, 6000));
  return { url, token, sessionId: build.id, approvalId: pending.started?.approvalId ?? '', runId };
}

async function capture(browser: Browser, demo: Demo, out: string): Promise<string[]> {
  const written: string[] = [];
  for (const size of SIZES) {
    const context = await browser.newContext({ viewport: size.viewport, colorScheme: size.colorScheme });
    const page = await context.newPage();
    for (const view of views(demo)) {
      if (view.hash === null) {
        await page.goto(demo.url);
      } else {
        if (!(await context.cookies()).some((cookie) => cookie.name === 'airlock_session')) {
          await page.getByLabel('Token').fill(demo.token);
          await page.getByRole('button', { name: 'Sign in' }).click();
          await page.getByRole('navigation', { name: 'Views' }).waitFor({ timeout: READY_TIMEOUT_MS });
        }
        await page.goto(`${demo.url}/${view.hash}`);
      }
      await view.ready(page);
      // Charts and countdowns settle on their next tick.
      await page.waitForTimeout(600);
      const path = join(out, `${view.name}-${size.name}.png`);
      await page.screenshot({ path });
      written.push(path);
    }
    await context.close();
  }
  return written;
}

function step(what: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${what}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const out = resolve(values.out ?? join(root, 'docs/screenshots'));
  const built = spawnSync(process.execPath, ['scripts/build-web.mjs'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('building the dashboard failed');
  step('dashboard built');
  mkdirSync(out, { recursive: true });

  const home = mkdtempSync(join(tmpdir(), 'airlock-screenshots-'));
  const web = await webServer();
  const airlock = await createAirlock({
    home,
    env: { HOME: home },
    monitorIntervalMs: 500,
    config: {
      router: { approvalRequiredFor: ['touch'], approvalWait: '5m' },
      sandbox: {
        network: {
          mode: 'ask',
          allow: [`docs.example.test:${web.port}`],
          hosts: Object.fromEntries(WEB_HOSTS.map((host) => [host, '127.0.0.1'])),
        },
      },
    },
  });
  const { token } = loadOrCreateAdminToken(home, undefined);
  const server = await createServer({ airlock, adminToken: token });
  let browser: Browser | undefined;
  try {
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    const demo = await seed(url, token, airlock, web.port);
    step(`server at ${url} with sessions, a pending approval, egress and an agent run`);
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS });
    const written = await capture(browser, demo, out);
    process.stdout.write(`${written.map((path) => `wrote ${path}`).join('\n')}\n`);
  } finally {
    await browser?.close();
    await server.close();
    web.close();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
