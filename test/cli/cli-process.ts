/**
 * `airlock …` as a separate process (bin/airlock.js), for what in-process runs cannot show: a decider
 * sharing the store file with a router in another process, and Ctrl-C.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import type { Airlock } from '../../src/index.ts';
import type { CliRun } from '../support/cli.ts';

const bin = fileURLToPath(new URL('../../bin/airlock.js', import.meta.url));

export const bwrapMissing = ['/usr/bin/bwrap', '/usr/local/bin/bwrap'].every((path) => !existsSync(path));

const homes: string[] = [];
const planes: Airlock[] = [];
afterEach(async () => {
  for (const plane of planes.splice(0)) await plane.close();
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** A state directory removed after the test. */
export function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'airlock-cli-store-test-'));
  homes.push(home);
  return home;
}

/** A control plane closed after the test (before its home is removed). */
export function closeAfterTest(plane: Airlock): void {
  planes.push(plane);
}

/** The environment a user with this state directory has; nothing else of the test's leaks in. */
export function envFor(home: string): Record<string, string> {
  return { HOME: home, AIRLOCK_HOME: home, NO_COLOR: '1' };
}

export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches, or rejects after the timeout with what was printed. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<CliRun>;
}

/** `env` adds to the user's environment (e.g. AIRLOCK_TOKEN for a server that is not Airlock). */
export function startCli(
  args: string[],
  home: string,
  input?: string,
  env: Record<string, string> = {},
): CliProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: home,
    env: { ...envFor(home), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const listener of listeners) listener();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(input ?? '');
  const exited = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ exitCode: code ?? 128 + (signal === 'SIGINT' ? 2 : 9), stdout, stderr }),
    );
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForOutput(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!pattern.test(stdout)) return;
          finish();
          resolve();
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no ${String(pattern)} in stdout:\n${stdout}\nstderr:\n${stderr}`));
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Runs `airlock …` to completion in its own process. */
export function runCliProcess(args: string[], home: string, input?: string): Promise<CliRun> {
  return startCli(args, home, input).exited;
}
