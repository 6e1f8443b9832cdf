/**
 * The Egress and Agents views in real headless Chromium against a real server with the real egress
 * proxy (sessions are the in-memory sandbox double; a client on a session's proxy socket stands in
 * for curl inside it) and a real agent run through the OpenAI SDK against the scripted model server.
 * Egress: connections and refused hosts live, an approver's grant that the proxy then honours and its
 * withdrawal, an egress question answered from the view, a viewer who sees but cannot grant.
 * Agents: a run as one thread (a refused command, an approval answered meanwhile), in order, growing live.
 * Both views pass axe with no serious finding.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { AirlockClient } from '../../src/sdk/index.ts';
import { startTestServer } from '../api/support.ts';
import type { TestServer } from '../api/support.ts';
import { httpUpstream, proxyGet, proxySocket } from '../support/egress-traffic.ts';
import { createMemoryDriver } from '../support/memory-driver/index.ts';
import { commandIdIn, startModelServer } from '../support/model-server.ts';
import type { ModelServer } from '../support/model-server.ts';
import {
  describeInChromium,
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

async function seriousFindings(page: Page): Promise<AxeFinding[]> {
  await page.evaluate(axeSource);
  return (await page.evaluate(runAxe)).filter(
    (finding) => finding.impact === 'serious' || finding.impact === 'critical',
  );
}

/** Sessions ask a person about hosts off the list; both test hosts lead to the upstream on 127.0.0.1. */
async function egressServer(
  port: number,
  approvalRequiredFor: readonly string[] = [],
): Promise<{ server: TestServer; admin: AirlockClient }> {
  const server = await startTestServer({
    airlock: {
      drivers: { bwrap: createMemoryDriver() },
      config: {
        sandbox: {
          network: {
            mode: 'ask',
            allow: [`api.example.test:${port}`],
            hosts: {
              'api.example.test': '127.0.0.1',
              'other.example.test': '127.0.0.1',
              'asked.example.test': '127.0.0.1',
            },
          },
        },
        router: { approvalRequiredFor, approvalWait: '30s' },
      },
    },
  });
  return { server, admin: new AirlockClient({ url: server.url, token: server.adminToken }) };
}

const models: ModelServer[] = [];
afterEach(async () => {
  for (const model of models.splice(0)) await model.close();
});

describeInChromium('the Egress and Agents views in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    ensureDashboardBuilt();
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("shows a session's connections and refused hosts live; an approver grants a host the proxy then lets through, and answers an egress question", async () => {
    const upstream = await httpUpstream();
    const { server, admin } = await egressServer(upstream.port);
    const listed = await admin.sessions.create({
      network: { mode: 'allowlist', allow: [`api.example.test:${upstream.port}`] },
    });
    const socket = proxySocket(server.home, listed.id);
    const other = `http://other.example.test:${upstream.port}`;
    expect((await proxyGet(socket, `http://api.example.test:${upstream.port}/first`)).status).toBe(200);
    expect((await proxyGet(socket, `${other}/refused`)).status).toBe(403);

    const approver = (await admin.tokens.create({ role: 'approver', name: 'alice' })).token;
    const { page, context, problems } = await openPage(browser);
    await signIn(page, server.url, approver);
    await page.getByRole('link', { name: 'Egress' }).click();
    const sessionRow = page.locator('.egress-table tbody tr', { hasText: listed.id.slice(0, 12) });
    await until(async () => (await sessionRow.count()) === 1, 'the session in the egress table');
    const refusedRow = page.locator('.refused-table tbody tr', { hasText: 'other.example.test' });
    await refusedRow.waitFor();
    expect(await refusedRow.textContent()).toContain('not allowed');
    const connections = page.locator('.connections-table tbody tr');
    await until(async () => (await connections.count()) === 2, 'both connections listed');

    // A new connection shows up without reloading: the view follows the audit log.
    expect((await proxyGet(socket, `http://api.example.test:${upstream.port}/live`)).status).toBe(200);
    await until(async () => (await connections.count()) === 3, 'the new connection, live');

    // Granted from the view: the proxy now lets the host through, for this session.
    await refusedRow.getByRole('button', { name: /Allow for this session/ }).click();
    await until(
      async () => ((await sessionRow.textContent()) ?? '').includes(`other.example.test:${upstream.port}`),
      'the grant in the session row',
    );
    expect((await proxyGet(socket, `${other}/granted`)).status).toBe(200);
    expect(upstream.seen).toContain('/granted');
    await sessionRow.getByRole('button', { name: /Withdraw/ }).click();
    await until(async () => ((await sessionRow.textContent()) ?? '').includes('none'), 'the grant withdrawn');
    expect((await proxyGet(socket, `${other}/withdrawn`)).status).toBe(403);

    // A question about a host off the list waits in the view; allowing it once lets that connection go.
    const asking = await admin.sessions.create({});
    const asked = proxyGet(
      proxySocket(server.home, asking.id),
      `http://asked.example.test:${upstream.port}/asked`,
    );
    const ask = page.locator('.ask', { hasText: 'asked.example.test' });
    await ask.waitFor({ timeout: 20_000 });
    expect(await seriousFindings(page)).toEqual([]);
    await ask.getByRole('button', { name: /Allow once/ }).click();
    expect((await asked).status).toBe(200);
    await until(async () => (await ask.count()) === 0, 'the question gone once answered');
    expect(problems).toEqual([]);
    await context.close();

    // A viewer sees the same, with nothing to press.
    const viewer = (await admin.tokens.create({ role: 'viewer', name: 'bob' })).token;
    const watching = await openPage(browser, PHONE, { colorScheme: 'dark' });
    await signIn(watching.page, server.url, viewer);
    await watching.page.goto(`${server.url}/#/egress`);
    await watching.page.locator('.refused-table tbody tr', { hasText: 'other.example.test' }).waitFor();
    expect(
      await watching.page.getByRole('button', { name: /Allow for this session|Withdraw|Allow once/ }).count(),
    ).toBe(0);
    expect(await seriousFindings(watching.page)).toEqual([]);
    await watching.context.close();
  }, 120_000);

  it("shows an agent run as one thread: model calls, tool calls, commands with their decisions, a person's approval, in order and live", async () => {
    const upstream = await httpUpstream();
    // `touch` waits for a person: the run asks one, and goes on once answered.
    const { server } = await egressServer(upstream.port, ['touch']);
    const model = await startModelServer([
      {
        text: 'Looking first.',
        toolCalls: [{ name: 'run_command', arguments: { command: 'echo thread-start' } }],
      },
      // Slow to answer: the page is open before the rest of the run happens.
      {
        text: 'Now the risky one.',
        toolCalls: [{ name: 'run_command', arguments: { command: 'rm -rf /' } }],
        pieceDelayMs: 1500,
      },
      { toolCalls: [{ name: 'run_command', arguments: { command: 'echo thread-end' } }], pieceDelayMs: 500 },
      { toolCalls: [{ name: 'run_command', arguments: { command: 'touch /workspace/approved' } }] },
      (request) => ({
        toolCalls: [
          {
            name: 'command_status',
            arguments: { command_id: commandIdIn(request.toolResults.at(-1)), wait_s: 30 },
          },
        ],
      }),
      { text: 'Done: the risky command was refused, as it should be.' },
    ]);
    models.push(model);
    const run = server.airlock.agents.run({
      task: 'show the thread',
      model: 'scripted-model',
      baseUrl: model.baseUrl,
    });
    const first = await run.next();
    expect(first.done).toBe(false);
    const finished = (async () => {
      for (;;) {
        const next = await run.next();
        if (next.done === true) return next.value;
        // A person answers from elsewhere (here the API, as an approver's dashboard would).
        if (next.value.type === 'approval_requested')
          await server.airlock.approvals.approve(next.value.approvalId, {
            decidedBy: 'api:approver:tok_alice',
          });
      }
    })();

    const { page, context, problems } = await openPage(browser);
    await signIn(page, server.url, server.adminToken);
    await page.getByRole('link', { name: 'Agents' }).click();
    const runLink = page.locator('.runs-table tbody tr a').first();
    await runLink.waitFor();
    await runLink.click();
    const items = page.locator('.thread > li');
    await until(
      async () => ((await page.locator('.thread').textContent()) ?? '').includes('echo thread-start'),
      'the first command',
    );
    const summary = await finished;
    expect(summary.status).toBe('completed');
    // The rest arrived live, without reloading the page.
    await until(
      async () => ((await page.locator('.thread').textContent()) ?? '').includes('Run ended'),
      'the end of the run',
      30_000,
    );

    const labels = await items.locator('.thread__label').allTextContents();
    const bodies = await items.locator('.thread__body').allTextContents();
    const order = labels.map((label, index) => `${label} ${bodies[index] ?? ''}`);
    const at = (pattern: RegExp): number => order.findIndex((line) => pattern.test(line));
    const positions = [
      at(/^Run started/),
      at(/^Model · step 1/),
      at(/^Command.*echo thread-start.*completed/),
      at(/^Tools · step 1.*run_command/),
      at(/^Model · step 2/),
      at(/^Command.*rm -rf \/.*deny/),
      at(/^Command.*echo thread-end/),
      at(/^Command.*touch \/workspace\/approved.*asked a person.*approved by api:approver:tok_alice/),
      at(/^Run ended.*completed/),
    ];
    expect(
      positions.every((position) => position >= 0),
      order.join('\n'),
    ).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    // The refusal says why, in the thread.
    expect(order[at(/^Command.*rm -rf/)]).toMatch(/deny/);

    // A command's output is one click away.
    const started = items.filter({ hasText: 'echo thread-start' });
    await started.getByRole('button', { name: 'Show output' }).click();
    await until(
      async () =>
        ((await started.getByLabel(/^Output of echo thread-start/).textContent()) ?? '').includes(
          'thread-start',
        ),
      'the output in the thread',
    );
    expect(await seriousFindings(page)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
