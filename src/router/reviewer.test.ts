/**
 * `router.reviewer` through the router on the in-memory driver: a real program (spawned without a
 * shell) and a real HTTP endpoint on loopback decide before a person is asked; their decisions are
 * audited like a person's, and a reviewer that fails in any way leaves the request to a person.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openMemoryAirlock } from '../../test/support/memory-airlock.ts';

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** A reviewer program: sh runs the script, which saves the request and prints `answer`. */
function reviewerScript(answer: string, extra = ''): { argv: string[]; request: () => unknown } {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-reviewer-'));
  dirs.push(dir);
  const script = join(dir, 'review.sh');
  writeFileSync(script, `cat > "${dir}/request.json"\n${extra}\nprintf '%s' '${answer}'\n`);
  return {
    argv: ['/bin/sh', script],
    request: () => JSON.parse(readFileSync(join(dir, 'request.json'), 'utf8')),
  };
}

const router = { rateLimit: '1000/min', approvalRequiredFor: ['touch'], approvalWait: '5s' };

async function withReviewer(reviewer: Record<string, unknown>) {
  const { airlock } = await openMemoryAirlock({ config: { router: { ...router, reviewer } } });
  return { airlock, session: await airlock.sessions.create() };
}

describe('a reviewer program', () => {
  it('approves before a person is asked; the approval is audited as reviewer:<name>', async () => {
    const reviewer = reviewerScript('{"decision":"approve","reason":"touch in the workspace is fine"}');
    const { airlock, session } = await withReviewer({ command: reviewer.argv, name: 'bot' });
    const result = await session.run('touch ok.txt');
    expect(result.status).toBe('completed');
    const record = await airlock.approvals.get(result.approvalId ?? '');
    expect(record).toMatchObject({ status: 'approved', decidedBy: 'reviewer:bot', scope: null });
    expect(record.decisionReason).toBe('touch in the workspace is fine');
    const request = reviewer.request() as Record<string, unknown>;
    expect(request).toMatchObject({
      version: 1,
      approvalId: result.approvalId,
      sessionId: session.id,
      commandId: result.id,
      action: 'command',
      subject: 'touch ok.txt',
      parsed: ['touch ok.txt'],
      // The default `sandbox.network`: ask mode with an empty list, through the egress proxy.
      session: { driver: 'bwrap', network: { mode: 'ask', allow: [] } },
    });
    const events = await airlock.audit.list({
      sessionId: session.id,
      types: ['approval.requested', 'approval.decided'],
    });
    expect(events.map((event) => event.type)).toEqual(['approval.requested', 'approval.decided']);
    expect(events[0]?.data['review']).toMatchObject({ reviewer: 'bot', decision: 'approve' });
  });

  it('denies with its reason, which the model reads', async () => {
    const reviewer = reviewerScript('{"decision":"deny","reason":"not in this task"}');
    const { session } = await withReviewer({ command: reviewer.argv, name: 'bot' });
    const result = await session.run('touch no.txt');
    expect(result.status).toBe('denied');
    expect(result.reasons[0]).toBe('a person denied it: not in this task');
  });

  it('abstains by saying so, and a person decides', async () => {
    const reviewer = reviewerScript('{"decision":"abstain"}');
    const { airlock, session } = await withReviewer({ command: reviewer.argv });
    const pending = await session.run('touch maybe.txt', { approvalWaitMs: 0 });
    let record = await airlock.approvals.get(pending.approvalId ?? '').catch(() => null);
    for (let i = 0; i < 100 && record === null; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      record = await airlock.approvals.get(pending.approvalId ?? '').catch(() => null);
    }
    expect(record?.status).toBe('pending');
    await airlock.approvals.approve(pending.approvalId ?? '', { decidedBy: 'alice' });
    expect((await session.commands.wait(pending.id)).status).toBe('completed');
  });

  it('tells the caller of a write the approval only once the store holds it, after a slow reviewer', async () => {
    const reviewer = reviewerScript('{"decision":"abstain"}', 'sleep 0.3');
    const { airlock } = await openMemoryAirlock({
      config: {
        router: { ...router, approvalRequiredFor: ['write_file'], reviewer: { command: reviewer.argv } },
      },
    });
    const session = await airlock.sessions.create();
    const pending = await session.files.write('package.json', '{"name":"x"}\n', { approvalWaitMs: 0 });
    expect(pending.status).toBe('pending_approval');
    // A person acting on the id at once finds it: no NOT_FOUND while the reviewer still thinks.
    const record = await airlock.approvals.get(pending.approvalId ?? '');
    expect(record.status).toBe('pending');
    await airlock.approvals.approve(record.id, { decidedBy: 'alice' });
  });

  it.each([
    ['answers garbage', () => reviewerScript('approve please').argv, 'answered something that is not JSON'],
    ['answers no decision', () => reviewerScript('{"decision":"allow"}').argv, 'answered no decision'],
    ['exits non-zero', () => reviewerScript('{"decision":"approve"}', 'exit 3').argv, 'exited with status 3'],
    [
      'is too slow',
      () => reviewerScript('{"decision":"approve"}', 'sleep 5').argv,
      'did not answer within 0.3 s',
    ],
    ['cannot be started', () => ['/nonexistent/reviewer'], 'could not be started'],
  ])(
    'that %s abstains: the request waits for a person, never runs (adversarial)',
    async (_what, argv, problem) => {
      // Made in the test: each test's files are removed after it.
      const { airlock, session } = await withReviewer({
        command: argv(),
        name: 'bot',
        timeout: '300ms',
      });
      const result = await session.run('touch never.txt', { approvalWaitMs: 1500 });
      expect(result.status).toBe('pending_approval');
      const record = await airlock.approvals.get(result.approvalId ?? '');
      expect(record.status).toBe('pending');
      const [requested] = await airlock.audit.list({ sessionId: session.id, types: ['approval.requested'] });
      expect(requested?.data['review']).toMatchObject({ reviewer: 'bot', decision: 'abstain' });
      expect(String((requested?.data['review'] as Record<string, unknown>)['problem'])).toContain(problem);
      expect((await session.files.list('/workspace')).map((f) => f.name)).not.toContain('never.txt');
    },
  );
});

describe('a reviewer endpoint', () => {
  async function endpoint(answer: (body: string) => { status: number; body: string }): Promise<string> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const { status, body } = answer(Buffer.concat(chunks).toString('utf8'));
        response.writeHead(status, { 'content-type': 'application/json' }).end(body);
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return `http://127.0.0.1:${address.port}/review`;
  }

  it('receives the request as JSON and approves a write', async () => {
    const seen: unknown[] = [];
    const url = await endpoint((body) => {
      seen.push(JSON.parse(body));
      return { status: 200, body: '{"decision":"approve"}' };
    });
    const { airlock, session } = await withReviewer({ url });
    const written = await session.files.write('package.json', '{}\n');
    expect(written.status).toBe('completed');
    expect(seen).toEqual([expect.objectContaining({ action: 'write_file', parsed: ['package.json'] })]);
    const record = await airlock.approvals.get(written.approvalId ?? '');
    expect(record.decidedBy).toBe('reviewer:127.0.0.1');
  });

  it('that fails (HTTP 500) abstains', async () => {
    const url = await endpoint(() => ({ status: 500, body: '{"decision":"approve"}' }));
    const { airlock, session } = await withReviewer({ url, name: 'api' });
    const result = await session.run('touch x.txt', { approvalWaitMs: 1000 });
    expect(result.status).toBe('pending_approval');
    expect((await airlock.approvals.get(result.approvalId ?? '')).status).toBe('pending');
  });
});
