/**
 * The dashboard end to end in real headless Chromium against a real server (SQLite, bwrap sandboxes):
 * signing in, a live command stream, approving and denying (the command then runs, or is refused),
 * what a viewer may not do, CSRF and CSP refusals, and the audit view's verification.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { AirlockClient } from '../../src/sdk/index.ts';
import type { SandboxSession } from '../../src/sdk/index.ts';
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
import { decideFromPage, fetchHeader, fetchText, tryToRunForeignScript } from './in-page.js';

/** `touch` waits for a person here: a harmless command that shows whether it ran (its echo). */
const config = { router: { approvalRequiredFor: ['touch'] } };

async function serverWithSession(): Promise<{
  server: TestServer;
  admin: AirlockClient;
  session: SandboxSession;
}> {
  const server = await startTestServer({ airlock: { config } });
  const admin = new AirlockClient({ url: server.url, token: server.adminToken });
  return { server, admin, session: await admin.sessions.create({}) };
}

async function pendingCommand(
  session: SandboxSession,
  command: string,
): Promise<{ id: string; approvalId: string }> {
  const handle = await session.start(command);
  expect(handle.started?.status).toBe('pending_approval');
  return { id: handle.id, approvalId: handle.started?.approvalId ?? '' };
}

describeInChromium('the dashboard in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    ensureDashboardBuilt();
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('signs in with a token kept out of every URL, for an HttpOnly SameSite=Strict cookie, and streams a command live', async () => {
    const { server, session } = await serverWithSession();
    const { page, context, urls, problems } = await openPage(browser);
    await signIn(page, server.url, server.adminToken);
    const cookies = await context.cookies();
    expect(cookies.find((cookie) => cookie.name === 'airlock_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });

    await session.start('for i in $(seq 1 60); do echo tick-$i; sleep 0.1; done');
    await page.getByRole('link', { name: 'Commands' }).click();
    const output = page.getByLabel(/^Output of for i in/);
    await until(
      async () => /tick-5\n/.test((await output.textContent()) ?? ''),
      'the first lines of the stream',
    );
    const early = ((await output.textContent()) ?? '').split('\n').length;
    await until(
      async () => ((await output.textContent()) ?? '').split('\n').length > early + 10,
      'more lines while it runs',
    );
    await until(async () => /tick-60\n/.test((await output.textContent()) ?? ''), 'the last line');

    expect(urls.length).toBeGreaterThan(5);
    expect(urls.filter((url) => url.includes(server.adminToken))).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('approves one request (it runs) and denies another with a reason (it is refused), with the count in the title', async () => {
    const { server, admin, session } = await serverWithSession();
    const approved = await pendingCommand(session, 'touch /workspace/approved && echo approved-ran');
    const denied = await pendingCommand(session, 'touch /workspace/denied && echo denied-ran');
    const { page, context, problems } = await openPage(browser);
    await signIn(page, server.url, server.adminToken);
    await page.goto(`${server.url}/#/approvals/${approved.approvalId}`);
    await until(async () => (await page.title()).startsWith('(2) '), 'the pending count in the title');
    await expect.poll(() => page.locator('.subject').textContent()).toContain('echo approved-ran');
    await page.getByLabel('Reason (the agent reads it)').fill('release step, expected');
    await page.getByRole('button', { name: /^Approve/ }).click();
    const ran = await session.commands.connect(approved.id).wait({ timeoutMs: 30_000 });
    expect(ran).toMatchObject({ status: 'completed', exitCode: 0, stdout: 'approved-ran\n' });

    // The queue moves on to the next request; `r` then `d` write a reason and deny from the keyboard.
    await expect
      .poll(() => page.locator('.subject').textContent(), { timeout: 15_000 })
      .toContain('echo denied-ran');
    // The request's own details are in (the command approved a moment ago is in what ran before it),
    // so no later render replaces the form being typed into.
    await expect
      .poll(() => page.locator('.recent').textContent(), { timeout: 15_000 })
      .toContain('echo approved-ran');
    await page.keyboard.press('r');
    await page.keyboard.type('not now');
    await expect.poll(() => page.getByLabel('Reason (the agent reads it)').inputValue()).toBe('not now');
    // Out of the text box (typing there is text, not a shortcut), then `d`.
    await page.keyboard.press('Tab');
    await page.keyboard.press('d');
    const refused = await session.commands.connect(denied.id).wait({ timeoutMs: 30_000 });
    expect(refused.status).toBe('denied');
    expect(refused.stdout).toBe('');
    expect(refused.forModel).toContain('not now');
    await until(async () => !(await page.title()).startsWith('('), 'the title without a count');
    const decisions = await admin.audit.list({ types: ['approval.decided'] });
    expect(decisions.map((event) => event.data['decidedBy'])).toEqual([
      expect.stringMatching(/^api:admin:/),
      expect.stringMatching(/^api:admin:/),
    ]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('grants a program for the rest of the session from the page: its next command runs unasked', async () => {
    const { server, admin, session } = await serverWithSession();
    const first = await pendingCommand(session, 'touch /workspace/one');
    const waiting = await pendingCommand(session, 'touch /workspace/three && echo waiting');
    const { page, context, problems } = await openPage(browser);
    await signIn(page, server.url, server.adminToken);
    await page.goto(`${server.url}/#/approvals/${first.approvalId}`);
    const program = page.getByRole('radio', { name: /This program, in this session/ });
    await expect.poll(() => program.isEnabled()).toBe(true);
    await expect.poll(() => page.getByText(/whatever its arguments: touch$/).isVisible()).toBe(true);
    await program.check();
    await page.getByRole('button', { name: /^Approve/ }).click();
    const ran = await session.commands.connect(first.id).wait({ timeoutMs: 30_000 });
    expect(ran).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(await admin.approvals.get(first.approvalId)).toMatchObject({
      status: 'approved',
      scope: 'program',
    });

    // The queue moves on to a request made meanwhile (it was already waiting): its form starts at
    // "just this once", not at the grant chosen for the request before it.
    await expect
      .poll(() => page.locator('.subject').textContent(), { timeout: 15_000 })
      .toContain('echo waiting');
    await expect.poll(() => page.getByRole('radio', { name: /Just this once/ }).isChecked()).toBe(true);
    expect(await program.isChecked()).toBe(false);

    // Other arguments, same program: no one is asked again in this session.
    const second = await session.run('touch /workspace/two && echo granted');
    expect(second).toMatchObject({ status: 'completed', stdout: 'granted\n' });
    expect((await admin.approvals.list({ status: 'pending' })).map((pending) => pending.id)).toEqual([
      waiting.approvalId,
    ]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('shows a viewer the queue without a way to decide, and the server refuses the viewer and a change without the CSRF token', async () => {
    const { server, admin, session } = await serverWithSession();
    const pending = await pendingCommand(session, 'touch /workspace/x && echo x');
    const viewerToken = (await admin.tokens.create({ role: 'viewer', name: 'bob' })).token;
    const viewer = await openPage(browser);
    await signIn(viewer.page, server.url, viewerToken);
    await viewer.page.goto(`${server.url}/#/approvals/${pending.approvalId}`);
    await expect.poll(() => viewer.page.getByText('You are signed in as a viewer').isVisible()).toBe(true);
    expect(await viewer.page.getByRole('button', { name: /^Approve/ }).count()).toBe(0);
    await viewer.page.keyboard.press('a');

    // The page's own fetch, with the viewer's cookie and CSRF token: refused for the role.
    const asViewer = await decideFromPageAs(viewer.page, pending.approvalId, true);
    expect(asViewer).toMatchObject({ status: 403, code: 'FORBIDDEN' });

    // The admin's cookie without the CSRF token: refused, and nothing was decided.
    const adminPage = await openPage(browser);
    await signIn(adminPage.page, server.url, server.adminToken);
    const withoutCsrf = await decideFromPageAs(adminPage.page, pending.approvalId, false);
    expect(withoutCsrf).toMatchObject({ status: 403, code: 'FORBIDDEN', reason: 'csrf' });
    expect((await admin.approvals.get(pending.approvalId)).status).toBe('pending');
    const withCsrf = await decideFromPageAs(adminPage.page, pending.approvalId, true);
    expect(withCsrf).toMatchObject({ status: 200 });
    await viewer.context.close();
    await adminPage.context.close();
  });

  it("shows an agent's markup as text and runs no script but its own (Content-Security-Policy, Trusted Types)", async () => {
    const { server, session } = await serverWithSession();
    const markup = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
    await session.run(`echo '${markup}'`);
    const { page, context } = await openPage(browser);
    await signIn(page, server.url, server.adminToken);
    await page.getByRole('link', { name: 'Commands' }).click();
    await page.getByRole('button', { name: /Show output of echo/ }).click();
    const output = page.getByLabel(/^Output of echo/);
    await expect.poll(() => output.textContent()).toBe(`${markup}\n`);
    expect(await page.locator('img[src="x"]').count()).toBe(0);

    const policy = await page.evaluate(fetchHeader, { path: '/', header: 'content-security-policy' });
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("require-trusted-types-for 'script'");
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval/);
    // What script on the page could try. (Code run through DevTools, like this test's, is exempt from
    // the eval check, so eval is covered by the header above.)
    const attempt = await page.evaluate(tryToRunForeignScript);
    expect(attempt).toEqual({
      pwned: null,
      outcomes: ['inline script: refused (TypeError)', 'markup: refused (TypeError)'],
      violations: ['require-trusted-types-for', 'require-trusted-types-for'],
    });
    await context.close();
  });

  it('verifies the audit chain in the audit view and says so plainly', async () => {
    const { server, session } = await serverWithSession();
    await session.run('echo audited');
    const { page, context, problems } = await openPage(browser);
    await signIn(page, server.url, server.adminToken);
    await page.getByRole('link', { name: 'Audit' }).click();
    await expect
      .poll(() => page.getByText(/The audit log is intact: \d+ events checked/).isVisible(), {
        timeout: 20_000,
      })
      .toBe(true);
    await expect.poll(() => page.getByText('echo audited').first().isVisible()).toBe(true);
    const exportHref = await page.getByRole('link', { name: 'Export (JSON lines)' }).getAttribute('href');
    const exported = await page.evaluate(fetchText, exportHref ?? '');
    expect(exported.trim().split('\n').length).toBeGreaterThan(3);
    expect(problems).toEqual([]);
    await context.close();
  });
});

/** POST /v1/approvals/:id from inside the signed-in page, with or without the page's CSRF token. */
function decideFromPageAs(page: Page, approvalId: string, withCsrf: boolean) {
  return page.evaluate(decideFromPage, { approvalId, withCsrf });
}
