/**
 * A terminal's live output: the unfinished line (a prompt, the echo of a keystroke) is released once
 * output pauses, while what could still become a secret stays held.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveLineStream } from './live-stream.ts';
import { LiveTail } from './live-tail.ts';
import { createRedactor } from './redact.ts';
import type { Redactor } from './redact.ts';
import type { RunResult } from '../types.ts';
import { TERMINAL_SETTLE_MS, watchOutput } from './watch.ts';

// Assembled at run time so this file holds no literal a secret scanner would flag.
const githubToken = ['ghp', '_', 'R7tK2mQ9xL4vN8pW3sY6zA1bC5dE0fG2hJ4k'].join('');
const envSecret = 'correct-horse-battery-staple-42';

function streamOf(redactor: Redactor = createRedactor()): { lines: LiveLineStream; all: () => string } {
  const emitted: string[] = [];
  const lines = new LiveLineStream({ redactor, emit: (text) => emitted.push(text) });
  return { lines, all: () => emitted.join('') };
}

describe('LiveLineStream.releasePartial', () => {
  it('releases a prompt and then each echoed keystroke without waiting for a line break', () => {
    const { lines, all } = streamOf();
    lines.write(Buffer.from('$ '));
    expect(all()).toBe('');
    lines.releasePartial();
    expect(all()).toBe('$ ');
    lines.write(Buffer.from('e'));
    lines.releasePartial();
    lines.write(Buffer.from('cho hi\r\nhi\r\n$ '));
    lines.releasePartial();
    expect(all()).toBe('$ echo hi\r\nhi\r\n$ ');
  });

  it('redacts a token printed in one write without a line break', () => {
    const { lines, all } = streamOf();
    lines.write(Buffer.from(`token=${githubToken}`));
    lines.releasePartial();
    expect(all()).toBe('token=[REDACTED:github-token]');
  });

  it('holds from where a configured secret value could begin, and redacts it once whole (adversarial)', () => {
    const { lines, all } = streamOf(createRedactor({ secrets: [{ name: 'API_KEY', value: envSecret }] }));
    lines.write(Buffer.from(`key: ${envSecret.slice(0, 12)}`));
    lines.releasePartial();
    expect(all()).toBe('key: ');
    lines.write(Buffer.from(envSecret.slice(12)));
    lines.releasePartial();
    expect(all()).toBe('key: [REDACTED:env:API_KEY]');
    expect(all()).not.toContain(envSecret.slice(0, 12));
  });

  it('holds a key header that is still arriving, and then hides the whole block (adversarial)', () => {
    const { lines, all } = streamOf();
    lines.write(Buffer.from('$ cat id -----BEGIN RSA PRI'));
    lines.releasePartial();
    expect(all()).toBe('$ cat id ');
    lines.write(Buffer.from('VATE KEY-----\nMIIEowIBAAKCAQEA7x2kQ9mL4vN8pW3sY6zA1bC5dE0fG2hJ4k\n'));
    lines.releasePartial();
    lines.write(Buffer.from('-----END RSA PRIVATE KEY-----\n'));
    expect(all()).not.toContain('MIIEowIBAAKCAQEA');
    expect(all()).toContain('[REDACTED:private-key]');
  });

  it('shows dashes that cannot begin a key header, and holds a tail that still could', () => {
    const { lines, all } = streamOf();
    lines.write(Buffer.from('----- done ----- $ ls -'));
    lines.releasePartial();
    expect(all()).toBe('----- done ----- $ ls -');
    lines.write(Buffer.from('l ------'));
    lines.releasePartial();
    expect(all()).toBe('----- done ----- $ ls -l -');
    lines.write(Buffer.from('x'));
    lines.releasePartial();
    expect(all()).toBe('----- done ----- $ ls -l ------x');
  });

  it('keeps a character split across chunks whole', () => {
    const { lines, all } = streamOf();
    const bytes = Buffer.from('é€');
    lines.write(bytes.subarray(0, 3));
    lines.releasePartial();
    expect(all()).toBe('é');
    lines.write(bytes.subarray(3));
    lines.releasePartial();
    expect(all()).toBe('é€');
  });
});

describe('watchOutput for a terminal', () => {
  it('gives a prompt without a line break once output pauses; a plain watcher still waits for the line', async () => {
    const live = { stdout: new LiveTail(), stderr: new LiveTail() };
    const done = new Promise<RunResult>(() => undefined);
    const abort = new AbortController();
    const terminal = watchOutput({ live, redactor: createRedactor(), done }, abort.signal, {
      terminal: true,
    })[Symbol.asyncIterator]();
    const plain = watchOutput({ live, redactor: createRedactor(), done }, abort.signal)[
      Symbol.asyncIterator
    ]();
    const terminalNext = terminal.next();
    let plainSettled = false;
    void plain.next().then(() => {
      plainSettled = true;
    });
    live.stdout.write(Buffer.from('bash-5.2$ '));
    expect(await terminalNext).toEqual({
      done: false,
      value: { type: 'output', stream: 'stdout', text: 'bash-5.2$ ' },
    });
    await new Promise((resolve) => setTimeout(resolve, TERMINAL_SETTLE_MS * 4));
    expect(plainSettled).toBe(false);
    abort.abort();
  });
});

/** A terminal watcher of a fresh command whose output the test writes chunk by chunk. */
function terminalWatch(redactor: Redactor): {
  stdout: LiveTail;
  shown: () => string;
  stop: () => void;
} {
  const live = { stdout: new LiveTail(), stderr: new LiveTail() };
  const abort = new AbortController();
  const events = watchOutput(
    { live, redactor, done: new Promise<RunResult>(() => undefined) },
    abort.signal,
    {
      terminal: true,
    },
  );
  const texts: string[] = [];
  void (async () => {
    for await (const event of events) if (event.type === 'output') texts.push(event.text);
  })();
  return { stdout: live.stdout, shown: () => texts.join(''), stop: () => abort.abort() };
}

/** Lets the watcher's generator take what was queued, without letting any timer run. */
async function drain(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await Promise.resolve();
}

describe('a terminal releases output at once unless a secret could be arriving', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shows each echoed keystroke without waiting for output to pause', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const watch = terminalWatch(createRedactor({ secrets: [{ name: 'API_KEY', value: envSecret }] }));
    for (const key of ['$ ', 'l', 's', ' ', '-', 'l']) {
      watch.stdout.write(Buffer.from(key));
      await drain();
    }
    // No timer has run: the settle time never passed, yet every echo is shown.
    expect(watch.shown()).toBe('$ ls -l');
    watch.stop();
  });

  it("holds output from a token format's hint on until output pauses, then shows it", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const watch = terminalWatch(createRedactor());
    watch.stdout.write(Buffer.from('$ git clone https://'));
    await drain();
    expect(watch.shown()).toBe('$ git clone https');
    vi.advanceTimersByTime(TERMINAL_SETTLE_MS);
    await drain();
    expect(watch.shown()).toBe('$ git clone https://');
    watch.stop();
  });

  it('holds a tail that could begin a configured value until the next output shows it is not one', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const watch = terminalWatch(createRedactor({ secrets: [{ name: 'API_KEY', value: envSecret }] }));
    watch.stdout.write(Buffer.from('$ echo corr'));
    await drain();
    vi.advanceTimersByTime(TERMINAL_SETTLE_MS);
    await drain();
    expect(watch.shown()).toBe('$ echo ');
    watch.stdout.write(Buffer.from('idor'));
    await drain();
    expect(watch.shown()).toBe('$ echo corridor');
    watch.stop();
  });

  it('redacts a configured value split across two output chunks (adversarial)', async () => {
    const watch = terminalWatch(createRedactor({ secrets: [{ name: 'API_KEY', value: envSecret }] }));
    watch.stdout.write(Buffer.from(`key: ${envSecret.slice(0, 12)}`));
    watch.stdout.write(Buffer.from(`${envSecret.slice(12)} ok`));
    await new Promise((resolve) => setTimeout(resolve, TERMINAL_SETTLE_MS * 4));
    expect(watch.shown()).toBe('key: [REDACTED:env:API_KEY] ok');
    watch.stop();
  });

  it('redacts a token split across chunks, also when its prefix went out first (adversarial)', () => {
    const cases = [
      { chunks: [`token=${githubToken.slice(0, 9)}`, githubToken.slice(9)], secret: githubToken.slice(4) },
      { chunks: ['db at postgres', '://admin:hunter2-hunter2@db.example'], secret: 'hunter2' },
      { chunks: ['$ curl -H "B', 'earer abcdefghijklmnopqrstuvwxyz0123"'], secret: 'abcdefghij' },
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const { chunks, secret } of cases) {
      const { lines, all } = streamOf();
      for (const chunk of chunks) {
        lines.write(Buffer.from(chunk));
        lines.releaseUnambiguous();
      }
      lines.releasePartial();
      expect(all()).toContain('[REDACTED:');
      expect(all()).not.toContain(secret);
    }
  });
});
