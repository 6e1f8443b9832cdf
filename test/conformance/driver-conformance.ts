/**
 * What every `Driver`/`Sandbox` must do, whatever isolates it: exit status and separate streams,
 * stdin, the environment, timeouts and abort, backpressure, file copies with their path and size
 * checks, and the end of a sandbox. The real drivers run it through the containment suite (which adds
 * the attacks); the in-memory test double runs it alone, so unit tests built on it stand on the same
 * contract.
 *
 * Commands here use only what the in-memory sandbox's mini shell knows: echo, printf, cat, tr, head,
 * sleep, pwd, exit, `;` `&&` `||`, quotes, `$VAR` and the redirections `>`, `>>`, `>&2`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors/index.ts';
import type { Driver, Sandbox, SandboxSpec } from '../../src/sandbox/index.ts';

const MiB = 1024 * 1024;

export const conformanceSpec: SandboxSpec = {
  image: 'host',
  memoryBytes: 256 * MiB,
  cpus: 1,
  pids: 128,
  scratchBytes: 32 * MiB,
  env: { GRANTED: 'yes' },
  timeoutMs: 10_000,
};

export interface ConformanceTarget {
  readonly name: string;
  /** A reason to skip, or undefined when the driver can run here. */
  readonly unavailable: string | undefined;
  makeDriver(): Driver;
}

async function expectAirlockError(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isAirlockError(error), `expected AirlockError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

export function defineDriverConformance(target: ConformanceTarget): void {
  describe.skipIf(target.unavailable !== undefined)(
    `driver conformance: ${target.name}${target.unavailable ? ` (skipped: ${target.unavailable})` : ''}`,
    () => {
      let driver: Driver;
      let sandbox: Sandbox;

      beforeAll(async () => {
        driver = target.makeDriver();
        sandbox = await driver.create(conformanceSpec);
      });

      afterAll(async () => {
        await sandbox?.destroy();
        await driver?.close();
      });

      describe('commands', () => {
        it('returns exit status, stdout and stderr separately', async () => {
          const result = await sandbox.exec('echo out; echo err >&2; exit 7');
          expect(result).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n', timedOut: false });
        });

        it('passes stdin through', async () => {
          const result = await sandbox.exec('tr a-z A-Z', { stdin: 'shout\n' });
          expect(result.stdout).toBe('SHOUT\n');
        });

        it('runs commands in /workspace by default and keeps files between commands', async () => {
          await sandbox.exec('echo persisted > /workspace/note.txt');
          const result = await sandbox.exec('pwd; cat note.txt');
          expect(result.stdout).toBe('/workspace\npersisted\n');
        });

        it("sees the spec's variables and the call's own", async () => {
          const result = await sandbox.exec('echo "$GRANTED $PER_CALL"', { env: { PER_CALL: 'two' } });
          expect(result.stdout).toBe('yes two\n');
        });

        it('keeps the arguments, environment and output of concurrent commands apart', async () => {
          const indexes = Array.from({ length: 12 }, (_, index) => index);
          expect(indexes.length).toBeGreaterThan(0);
          const results = await Promise.all(
            indexes.map((index) =>
              sandbox.exec(`sleep 0.${index % 3}; echo "$ARG-${index}"; exit ${index % 5}`, {
                env: { ARG: `arg${index}` },
              }),
            ),
          );
          results.forEach((result, index) => {
            expect(result.stdout).toBe(`arg${index}-${index}\n`);
            expect(result.exitCode).toBe(index % 5);
          });
        });

        it('reports a command that cannot start in its stderr, with exit status 127', async () => {
          const result = await sandbox.exec('true', { cwd: '/workspace/no-such-directory' });
          expect(result.exitCode).toBe(127);
          expect(result.stderr).toMatch(
            /cannot enter working directory \/workspace\/no-such-directory: No such file or directory/,
          );
        });

        it('reports an unknown program with exit status 127', async () => {
          const result = await sandbox.exec('no-such-program-anywhere');
          expect(result.exitCode).toBe(127);
          expect(result.stderr).toMatch(/no-such-program-anywhere: command not found/);
        });
      });

      describe('ending commands', () => {
        it('kills a command when its abort signal fires', async () => {
          const controller = new AbortController();
          setTimeout(() => controller.abort(), 200);
          const result = await sandbox.exec('sleep 30', { signal: controller.signal });
          expect(result.killed).toBe(true);
          expect(result.durationMs).toBeLessThan(5_000);
        });

        it('ends a command at its timeout, says so, and stays usable', async () => {
          const result = await sandbox.exec('echo started; sleep 30', { timeoutMs: 300 });
          expect(result.timedOut).toBe(true);
          expect(result.exitCode).toBeNull();
          expect(result.stdout).toBe('started\n');
          expect(result.durationMs).toBeLessThan(5_000);
          expect((await sandbox.exec('echo still here')).stdout).toBe('still here\n');
        });

        it('slows the command down when the output consumer cannot keep up, instead of buffering', async () => {
          let received = 0;
          let drain: (() => void) | undefined;
          const sink = {
            write(chunk: Buffer): boolean {
              received += chunk.length;
              return drain !== undefined; // the first write fills the "terminal"
            },
            once(_event: 'drain', listener: () => void): void {
              drain = listener;
            },
          };
          const running = sandbox.exec('head -c 20000000 /dev/zero', { stdoutTo: sink });
          // The first write may take a while on a loaded machine (a container's first exec); what is
          // measured is how much more arrives while the sink stays full.
          let receivedWhilePaused: number;
          try {
            const deadline = Date.now() + 10_000;
            while (drain === undefined && Date.now() < deadline) {
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
            expect(drain).toBeDefined();
            await new Promise((resolve) => setTimeout(resolve, 300));
            receivedWhilePaused = received;
          } finally {
            // Resumed whatever happened, so a failure here cannot leave a shared sandbox blocked.
            drain?.();
          }
          const result = await running;
          // Only what was already in flight (pipe buffers and one frame) arrived while paused.
          expect(receivedWhilePaused).toBeLessThan(1024 * 1024);
          expect(received).toBe(20_000_000);
          expect(result.stdoutStream.totalBytes).toBe(20_000_000);
        });
      });

      describe('files', () => {
        it('copies files in and out', async () => {
          await sandbox.writeFile('dir/in.txt', 'from host', { createParents: true });
          const result = await sandbox.exec('cat /workspace/dir/in.txt; echo -n from-sandbox > /tmp/out.txt');
          expect(result.stdout).toBe('from host');
          expect((await sandbox.readFile('/tmp/out.txt')).toString()).toBe('from-sandbox');
          const entries = await sandbox.listFiles('dir');
          expect(entries).toEqual([expect.objectContaining({ name: 'in.txt', kind: 'file', sizeBytes: 9 })]);
        });

        it('writes bytes given in pieces, in order, and appends when asked', async () => {
          const pieces = [Buffer.from('one,'), new Uint8Array([116, 119, 111, 44]), Buffer.alloc(0)];
          await sandbox.writeFile('/tmp/pieces.txt', pieces, { mode: 0o600 });
          await sandbox.writeFile('/tmp/pieces.txt', [Buffer.from('three')], { append: true });
          expect((await sandbox.readFile('/tmp/pieces.txt')).toString()).toBe('one,two,three');
          // Without append, a write replaces what the file held.
          await sandbox.writeFile('/tmp/pieces.txt', 'four');
          expect((await sandbox.readFile('/tmp/pieces.txt')).toString()).toBe('four');
        });

        it('refuses .. and paths outside the writable areas', async () => {
          await expectAirlockError(sandbox.readFile('../etc/passwd'), 'PATH_OUTSIDE_SANDBOX');
          await expectAirlockError(sandbox.readFile('/workspace/../etc/passwd'), 'PATH_OUTSIDE_SANDBOX');
          await expectAirlockError(sandbox.readFile('/etc/passwd'), 'PATH_OUTSIDE_SANDBOX');
          await expectAirlockError(sandbox.writeFile('/usr/bin/evil', 'x'), 'PATH_OUTSIDE_SANDBOX');
        });

        it('answers NOT_FOUND for a file that does not exist', async () => {
          await expectAirlockError(sandbox.readFile('no-such-file.txt'), 'NOT_FOUND');
        });

        it('enforces the size limit on reads', async () => {
          await sandbox.exec('head -c 2000000 /dev/zero > /workspace/big.bin');
          await expectAirlockError(sandbox.readFile('big.bin', { maxBytes: 1_000_000 }), 'FILE_TOO_LARGE');
          expect((await sandbox.readFile('big.bin', { maxBytes: 3_000_000 })).length).toBe(2_000_000);
        });
      });

      describe('lifecycle', () => {
        it('reports its limits in stats', async () => {
          const stats = await sandbox.stats();
          expect(stats.memoryLimitBytes).toBe(conformanceSpec.memoryBytes);
          expect(stats.pidsLimit).toBe(conformanceSpec.pids);
        });

        it('refuses every call after destroy with SANDBOX_DESTROYED, and ends', async () => {
          const doomed = await driver.create(conformanceSpec);
          await doomed.destroy();
          await doomed.ended;
          await expectAirlockError(doomed.exec('true'), 'SANDBOX_DESTROYED');
          await expectAirlockError(doomed.readFile('note.txt'), 'SANDBOX_DESTROYED');
          await doomed.destroy();
        });
      });
    },
  );
}
