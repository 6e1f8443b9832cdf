import { spawn } from 'node:child_process';

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
