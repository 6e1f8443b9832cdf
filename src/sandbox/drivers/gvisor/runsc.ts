import { spawn } from 'node:child_process';

/** Runs a short runsc management command; resolves with its output, never rejects. */
export function runscQuiet(
  runscPath: string,
  args: string[],
  timeoutMs = 10_000,
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(runscPath, args, {
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
