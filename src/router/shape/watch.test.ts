import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../errors/index.ts';
import { LiveTail } from './live-tail.ts';
import { createRedactor } from './redact.ts';
import type { RunResult } from '../types.ts';
import {
  MAX_QUEUED_OUTPUT_BYTES,
  MAX_WATCHERS_PER_COMMAND,
  watchOutput,
  type CommandEvent,
} from './watch.ts';

const githubToken = ['ghp', '_', 'R7tK2mQ9xL4vN8pW3sY6zA1bC5dE0fG2hJ4k'].join('');

function source(): {
  live: { stdout: LiveTail; stderr: LiveTail };
  finish: (status: RunResult['status']) => void;
  done: Promise<RunResult>;
} {
  let resolve: (result: RunResult) => void = () => undefined;
  const done = new Promise<RunResult>((r) => {
    resolve = r;
  });
  return {
    live: { stdout: new LiveTail(), stderr: new LiveTail() },
    done,
    finish: (status) => resolve({ id: 'cmd_1', status } as RunResult),
  };
}

describe('watchOutput', () => {
  it('gives the window, then new output of both streams in order, then the status, and ends', async () => {
    const { live, done, finish } = source();
    live.stdout.write(Buffer.from('before\n'));
    const iterator = watchOutput({ live, redactor: createRedactor(), done }, undefined)[
      Symbol.asyncIterator
    ]();
    expect(await iterator.next()).toEqual({
      done: false,
      value: { type: 'output', stream: 'stdout', text: 'before\n' },
    });
    const next = iterator.next();
    live.stderr.write(Buffer.from(`warn ${githubToken.slice(0, 10)}`));
    live.stderr.write(Buffer.from(`${githubToken.slice(10)}\n`));
    expect(await next).toEqual({
      done: false,
      value: { type: 'output', stream: 'stderr', text: 'warn [REDACTED:github-token]\n' },
    });
    live.stdout.write(Buffer.from('last'));
    finish('completed');
    const rest: CommandEvent[] = [];
    for (let step = await iterator.next(); step.done !== true; step = await iterator.next())
      rest.push(step.value);
    expect(rest).toEqual([
      { type: 'output', stream: 'stdout', text: 'last' },
      { type: 'status', result: { id: 'cmd_1', status: 'completed' } },
    ]);
  });

  it('drops output a slow reader has not read past the bound, says how much, and keeps the status', async () => {
    const { live, done, finish } = source();
    const iterator = watchOutput({ live, redactor: createRedactor(), done }, undefined)[
      Symbol.asyncIterator
    ]();
    const first = iterator.next(); // subscribes
    const line = `${'x'.repeat(1023)}\n`;
    const total = 3 * MAX_QUEUED_OUTPUT_BYTES;
    for (let written = 0; written < total; written += line.length) live.stdout.write(Buffer.from(line));
    finish('completed');
    const events: CommandEvent[] = [(await first).value as CommandEvent];
    for (let step = await iterator.next(); step.done !== true; step = await iterator.next())
      events.push(step.value);

    const outputs = events.filter((e) => e.type === 'output');
    const text = outputs.map((e) => e.text).join('');
    const marker =
      /\[… (\d+) bytes dropped: the reader fell behind; page the full output with its outputId once the command ends\]\n/;
    const dropped = Number(marker.exec(text)?.[1]);
    expect(outputs.filter((e) => marker.test(e.text))).toHaveLength(1);
    expect(dropped).toBeGreaterThan(total - MAX_QUEUED_OUTPUT_BYTES - line.length);
    expect(text.replace(marker, '').length + dropped).toBe(total);
    expect(events.at(-1)).toEqual({ type: 'status', result: { id: 'cmd_1', status: 'completed' } });
  });

  it('ends quietly when the signal aborts, and stops listening', async () => {
    const { live, done } = source();
    const abort = new AbortController();
    const iterator = watchOutput({ live, redactor: createRedactor(), done }, abort.signal)[
      Symbol.asyncIterator
    ]();
    const next = iterator.next();
    abort.abort();
    expect(await next).toEqual({ done: true, value: undefined });
    live.stdout.write(Buffer.from('after\n'));
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('refuses one watcher more than a command may have, and takes one again once a watcher left (adversarial)', async () => {
    const { live, done, finish } = source();
    live.stdout.write(Buffer.from('line\n'));
    const start = () => {
      const iterator = watchOutput({ live, redactor: createRedactor(), done }, undefined)[
        Symbol.asyncIterator
      ]();
      return { iterator, first: iterator.next() };
    };
    const watchers = Array.from({ length: MAX_WATCHERS_PER_COMMAND }, start);
    for (const { first } of watchers) expect((await first).value).toMatchObject({ type: 'output' });

    const refused = await start().first.catch((error: unknown) => error);
    expect(isAirlockError(refused) && refused.code).toBe('LIMIT_REACHED');
    expect(isAirlockError(refused) && refused.details).toMatchObject({
      maxWatchers: MAX_WATCHERS_PER_COMMAND,
    });
    expect(live.stdout.subscriberCount).toBe(MAX_WATCHERS_PER_COMMAND);

    await watchers[0]?.iterator.return(undefined);
    const again = start();
    expect((await again.first).value).toMatchObject({ type: 'output', text: 'line\n' });
    finish('completed');
    expect((await again.iterator.next()).value).toMatchObject({ type: 'status' });
    expect(live.stdout.subscriberCount).toBe(0);
  });

  it('gives only the status for a command without live output', async () => {
    const { done, finish } = source();
    finish('completed');
    const events: CommandEvent[] = [];
    for await (const event of watchOutput({ live: null, redactor: createRedactor(), done }, undefined)) {
      events.push(event);
    }
    expect(events).toEqual([{ type: 'status', result: { id: 'cmd_1', status: 'completed' } }]);
  });
});
