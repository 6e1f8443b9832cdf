/**
 * Live output end to end: a background command's output reaches a watcher while it runs, redacted, and
 * the watch ends with the command's final result.
 */
import { describe, expect, it } from 'vitest';
import { isAirlockError, loadPolicy } from '../../src/index.ts';
import type { CommandEvent } from '../../src/index.ts';
import { openAirlock } from './support.ts';

interface Seen {
  readonly event: CommandEvent;
  readonly atMs: number;
}

async function collect(
  events: AsyncIterable<CommandEvent>,
  onEvent?: (event: CommandEvent) => void,
): Promise<Seen[]> {
  const seen: Seen[] = [];
  for await (const event of events) {
    seen.push({ event, atMs: Date.now() });
    onEvent?.(event);
  }
  return seen;
}

function outputOf(seen: readonly Seen[]): string {
  return seen.map(({ event }) => (event.type === 'output' ? event.text : '')).join('');
}

describe('watching a background command', () => {
  it('delivers each line while the command runs, then its final result', async () => {
    const { airlock } = await openAirlock();
    const session = await airlock.sessions.create();
    const started = await session.run('for i in 1 2 3; do echo line$i; sleep 0.2; done', {
      background: true,
    });
    expect(started.status).toBe('running');
    const watchStarted = Date.now();
    const seen = await collect(session.commands.watch(started.id));

    const outputs = seen.filter(({ event }) => event.type === 'output');
    const status = seen.at(-1);
    expect(outputs.length).toBeGreaterThan(0);
    expect(status?.event.type).toBe('status');
    expect(seen.filter(({ event }) => event.type === 'status')).toHaveLength(1);
    // The first line arrived while the command still had at least two sleeps to go.
    const first = outputs[0] as Seen;
    expect(first.atMs).toBeLessThan(status?.atMs ?? 0);
    expect((status?.atMs ?? 0) - first.atMs).toBeGreaterThanOrEqual(200);
    expect(outputOf(seen)).toBe('line1\nline2\nline3\n');

    const result = status?.event.type === 'status' ? status.event.result : null;
    const waited = await airlock.commands.wait(started.id);
    expect(result?.status).toBe('completed');
    expect(first.atMs - watchStarted).toBeLessThan((result?.durationMs ?? 0) - 200);
    expect(result).toEqual(waited);
  });

  it('never shows a secret printed in pieces, on either stream (adversarial)', async () => {
    const secret = 'sup3r-s3cret-value-0123456789';
    // Built at run time so no scanner flags this file; shaped like a real GitHub token.
    const githubToken = `ghp_${'A1b2C3d4E5'.repeat(3)}abcdef`;
    const { airlock } = await openAirlock({ policy: loadPolicy({ preset: 'permissive' }) });
    const session = await airlock.sessions.create({ secretEnv: { API_TOKEN: secret } });
    const started = await session.run(
      [
        'printf "key=%s" "$API_TOKEN" | head -c 14',
        'sleep 0.3',
        'printf "%s\\n" "$API_TOKEN" | tail -c +11',
        `printf "%s" "${githubToken.slice(0, 12)}" >&2`,
        'sleep 0.3',
        `printf "%s\\n" "${githubToken.slice(12)}" >&2`,
      ].join('; '),
      { background: true },
    );
    const seen = await collect(session.commands.watch(started.id));
    const outputs = seen.flatMap(({ event }) => (event.type === 'output' ? [event] : []));
    expect(outputs.length).toBeGreaterThan(0);
    for (const { text } of outputs) {
      expect(text).not.toContain(secret.slice(0, 10));
      expect(text).not.toContain(secret.slice(10));
      expect(text).not.toContain(githubToken.slice(4, 12));
      expect(text).not.toContain(githubToken.slice(12));
    }
    const stdout = outputs
      .filter((e) => e.stream === 'stdout')
      .map((e) => e.text)
      .join('');
    const stderr = outputs
      .filter((e) => e.stream === 'stderr')
      .map((e) => e.text)
      .join('');
    expect(stdout).toBe('key=[REDACTED:env:API_TOKEN]\n');
    expect(stderr).toBe('[REDACTED:github-token]\n');
    expect(seen.at(-1)?.event.type).toBe('status');
  });

  it('ends with status killed when the command is killed during the watch', async () => {
    const { airlock } = await openAirlock();
    const session = await airlock.sessions.create();
    const started = await session.run('echo started; sleep 30', { background: true });
    const killedAt: number[] = [];
    const seen = await collect(airlock.commands.watch(started.id), (event) => {
      if (event.type === 'output' && killedAt.length === 0) {
        killedAt.push(Date.now());
        void airlock.commands.kill(started.id);
      }
    });
    expect(outputOf(seen)).toBe('started\n');
    const last = seen.at(-1)?.event;
    expect(last?.type === 'status' && last.result.status).toBe('killed');
    expect((seen.at(-1)?.atMs ?? 0) - (killedAt[0] ?? 0)).toBeLessThan(10_000);
  });

  it('streams a command pending approval once a person approves it', async () => {
    const { airlock } = await openAirlock({ config: { router: { approvalRequiredFor: ['touch'] } } });
    const session = await airlock.sessions.create();
    const pending = await session.run('touch approved.txt; echo after approval', {
      background: true,
      waitForApproval: false,
    });
    expect(pending.status).toBe('pending_approval');
    const seenPromise = collect(session.commands.watch(pending.id));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await airlock.approvals.approve(pending.approvalId ?? '', { decidedBy: 'test' });
    const seen = await seenPromise;
    expect(outputOf(seen)).toBe('after approval\n');
    const last = seen.at(-1)?.event;
    expect(last?.type === 'status' && last.result.status).toBe('completed');
  });

  it('ends quietly when its signal is aborted', async () => {
    const { airlock } = await openAirlock();
    const session = await airlock.sessions.create();
    const started = await session.run('echo one; sleep 30', { background: true });
    const abort = new AbortController();
    const seen = await collect(airlock.commands.watch(started.id, { signal: abort.signal }), () =>
      abort.abort(),
    );
    expect(seen.map(({ event }) => event.type)).toEqual(['output']);
    expect((await airlock.commands.get(started.id)).status).toBe('running');
    await airlock.commands.kill(started.id);
  });
});

describe('watching a command that is not running', () => {
  it('gives only the final status for an ended command', async () => {
    const { airlock } = await openAirlock();
    const session = await airlock.sessions.create();
    const done = await session.run('echo hi');
    const seen = await collect(session.commands.watch(done.id));
    expect(seen.map(({ event }) => event)).toEqual([{ type: 'status', result: done }]);
  });

  it('refuses an unknown id and a command of another session with NOT_FOUND', async () => {
    const { airlock } = await openAirlock();
    const mine = await airlock.sessions.create();
    const theirs = await airlock.sessions.create();
    const unknown = await collect(airlock.commands.watch('cmd_000000000000000000000000')).catch(
      (e: unknown) => e,
    );
    expect(isAirlockError(unknown) && unknown.code).toBe('NOT_FOUND');
    const started = await mine.run('sleep 5', { background: true });
    const foreign = await collect(theirs.commands.watch(started.id)).catch((e: unknown) => e);
    expect(isAirlockError(foreign) && foreign.code).toBe('NOT_FOUND');
    await mine.commands.kill(started.id);
  });
});
