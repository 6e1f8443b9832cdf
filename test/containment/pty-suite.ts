/**
 * Interactive commands on a real driver: a pseudo-terminal made inside the sandbox, typed input,
 * resizing, ^C, and the same timeout and kill as any command; a streamed stdin without a terminal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors/index.ts';
import type { Driver, ExecInput, ExecResult, Sandbox, SandboxSpec } from '../../src/sandbox/index.ts';

export interface PtyTarget {
  readonly name: string;
  readonly unavailable: string | undefined;
  makeDriver(): Driver;
  readonly spec: SandboxSpec;
}

/** A command on a terminal, its output so far, and a way to wait until the output shows something. */
function interactive(
  sandbox: Sandbox,
  command: string,
  options: { pty?: { cols: number; rows: number }; timeoutMs?: number } = {},
) {
  let output = '';
  let input: ExecInput | undefined;
  const sink = {
    write(chunk: Buffer) {
      output += chunk.toString('utf8');
      return true;
    },
    once: () => undefined,
  };
  const done: Promise<ExecResult> = sandbox.exec(command, {
    timeoutMs: options.timeoutMs ?? 20_000,
    stdoutTo: sink,
    interactive: {
      ...(options.pty === undefined ? {} : { pty: options.pty }),
      attach: (given) => {
        input = given;
      },
    },
  });
  const shows = async (pattern: RegExp, timeoutMs = 10_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(output)) {
      if (Date.now() > deadline) throw new Error(`output never showed ${pattern}: ${JSON.stringify(output)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  // The input is attached once the command is sent, a moment after exec() is called.
  const attached = async (): Promise<ExecInput> => {
    const deadline = Date.now() + 10_000;
    while (input === undefined) {
      if (Date.now() > deadline) throw new Error('no input attached');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return input;
  };
  const type = async (text: string): Promise<number> => (await attached()).write(Buffer.from(text));
  return {
    done,
    shows,
    type,
    attached,
    output: () => output,
  };
}

export function definePtySuite(target: PtyTarget): void {
  describe.skipIf(target.unavailable !== undefined)(`interactive commands: ${target.name}`, () => {
    let driver: Driver;
    let sandbox: Sandbox;
    beforeAll(async () => {
      driver = target.makeDriver();
      sandbox = await driver.create(target.spec);
    });
    afterAll(async () => {
      await sandbox?.destroy();
      await driver?.close();
    });

    it('runs on a terminal of the size asked, made inside the sandbox, and echoes what is typed', async () => {
      const run = interactive(sandbox, 'tty; stty size; read line; echo "got:$line"', {
        pty: { cols: 91, rows: 27 },
      });
      await run.shows(/27 91/);
      expect(await run.type('hello\r')).toBe(6);
      const result = await run.done;
      expect(result.exitCode).toBe(0);
      expect(run.output()).toMatch(/^\/dev\/pts\/\d+\r\n27 91\r\n/);
      // The terminal echoes the typed line, then the command's answer (the line discipline adds \r).
      expect(run.output()).toContain('hello\r\ngot:hello\r\n');
      expect(result.stderr).toBe('');
    });

    it('passes a resize to the terminal, and ^C to the foreground job', async () => {
      const run = interactive(sandbox, 'stty size; read x; stty size; sleep 30; echo never', {
        pty: { cols: 80, rows: 24 },
      });
      await run.shows(/24 80/);
      (await run.attached()).resize(120, 40);
      await run.type('\r');
      await run.shows(/40 120/);
      const started = Date.now();
      await run.type('\x03');
      const result = await run.done;
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(result.signal ?? String(result.exitCode)).toMatch(/SIGINT|130/);
      expect(run.output()).not.toContain('never');
    });

    it('kills an interactive command at its timeout with everything it started', async () => {
      const run = interactive(sandbox, 'sleep 60 & sleep 60', {
        pty: { cols: 80, rows: 24 },
        timeoutMs: 1_000,
      });
      const result = await run.done;
      expect(result.timedOut).toBe(true);
      const left = await sandbox.exec('ps -eo args | grep -c "^sleep 60" || true');
      expect(left.stdout.trim()).toBe('0');
    });

    it('streams stdin without a terminal, with end of input', async () => {
      const run = interactive(sandbox, 'cat; echo "[end]"');
      expect(await run.type('one ')).toBe(4);
      expect(await run.type('two')).toBe(3);
      expect(await run.type('')).toBe(0);
      const result = await run.done;
      expect(result.stdout).toBe('one two[end]\n');
    });

    it('refuses oversized input and impossible sizes, and takes nothing after the end (adversarial)', async () => {
      const run = interactive(sandbox, 'true', { pty: { cols: 80, rows: 24 } });
      await run.done;
      expect(await run.type('late')).toBe(0);
      const big = interactive(sandbox, 'sleep 5', { pty: { cols: 80, rows: 24 } });
      // One input frame is at most just under 4 MiB (a bulk stream's frame; typed input goes in 64 KiB).
      await expect(big.type('x'.repeat(4 * 1024 * 1024 - 64 * 1024 + 1))).rejects.toThrow(RangeError);
      const input = await big.attached();
      expect(() => input.resize(0, 24)).toThrow(RangeError);
      expect(() => input.resize(80, 100_000)).toThrow(RangeError);
      await big.type('\x03');
      await big.done;
      const refused = await sandbox
        .exec('true', { interactive: { pty: { cols: 5000, rows: 24 }, attach: () => undefined } })
        .catch((error: unknown) => error);
      expect(isAirlockError(refused) && refused.code).toBe('INVALID_ARGUMENT');
      // The sandbox is still fine afterwards.
      expect((await sandbox.exec('echo ok')).stdout).toBe('ok\n');
    });
  });
}
