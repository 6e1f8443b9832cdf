import { spawn } from 'node:child_process';
import { isExecutable } from '../../supervisor/index.ts';

// Fixed locations only: resolving through PATH would let whoever controls PATH pick our isolation.
const runscCandidates = ['/usr/bin/runsc', '/usr/local/bin/runsc', '/usr/sbin/runsc'];

/** The runsc binary: the configured one, else the first installed at a fixed location. */
export function findRunsc(configured: string | undefined): string | undefined {
  const found = configured ?? runscCandidates.find(isExecutable);
  return found !== undefined && isExecutable(found) ? found : undefined;
}

/**
 * Runs a short runsc management command; resolves with its output, never rejects. `command` is the
 * argv that starts runsc (see `runscCommand`), `args` what runsc is asked.
 */
export function runscQuiet(
  command: readonly string[],
  args: readonly string[],
  timeoutMs = 10_000,
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const [file = '', ...prefix] = command;
    const child = spawn(file, [...prefix, ...args], {
      shell: false,
      env: {},
      cwd: '/',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < 1024 * 1024) stdout += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', () => resolve({ code: null, stdout }));
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

/** Drops runsc's state of a container (killed or never started); quiet when there is none. */
export async function deleteRunscContainer(
  runscCommand: readonly string[],
  globalArgs: readonly string[],
  containerId: string,
): Promise<void> {
  await runscQuiet(runscCommand, [...globalArgs, 'delete', '--force', containerId]);
}
