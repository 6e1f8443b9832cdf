/**
 * How a reviewer is reached: a program (spawned without a shell, the request on stdin, the answer on
 * stdout) or an HTTP endpoint (the request POSTed, the answer in the body). Each returns the answer's
 * text or says why there is none; nothing here throws for what the reviewer does, because whatever
 * goes wrong with a reviewer means it abstains.
 */
import { spawn } from 'node:child_process';

/** Most answer bytes read: an answer is a decision and a reason, never more. */
export const MAX_ANSWER_BYTES = 64 * 1024;

export type Reply =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly problem: string };

/** The environment a reviewer program gets: Airlock's own (and its secrets) never reach it. */
const PROGRAM_ENV = Object.freeze({
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
});

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

export function askProgram(
  argv: readonly string[],
  body: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Reply> {
  return new Promise<Reply>((resolve) => {
    const [file, ...args] = argv;
    let settled = false;
    const chunks: Buffer[] = [];
    let bytes = 0;
    // A process group of its own, so a timeout kills whatever the reviewer started too.
    const child = spawn(file ?? '', args, {
      shell: false,
      cwd: '/',
      env: PROGRAM_ENV,
      stdio: ['pipe', 'pipe', 'ignore'],
      detached: true,
    });
    const killTree = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const finish = (reply: Reply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (!reply.ok) killTree();
      resolve(reply);
    };
    const onAbort = (): void => finish({ ok: false, problem: 'the request was withdrawn while it decided' });
    const timer = setTimeout(
      () => finish({ ok: false, problem: `did not answer within ${seconds(timeoutMs)}` }),
      timeoutMs,
    );
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error: NodeJS.ErrnoException) =>
      finish({ ok: false, problem: `could not be started (${error.code ?? error.message})` }),
    );
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_ANSWER_BYTES)
        finish({ ok: false, problem: `answered more than ${MAX_ANSWER_BYTES} bytes` });
      else chunks.push(chunk);
    });
    child.on('close', (code, killedBy) => {
      if (code === 0) finish({ ok: true, text: Buffer.concat(chunks).toString('utf8') });
      else
        finish({ ok: false, problem: killedBy ? `was killed by ${killedBy}` : `exited with status ${code}` });
    });
    // A reviewer that exits without reading its input must not fail Airlock with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(body);
  });
}

export async function askEndpoint(
  url: string,
  body: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Reply> {
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body,
      // The configured endpoint is the one trusted; a redirect could send the request anywhere.
      redirect: 'error',
      signal: deadline,
    });
    if (!response.ok) {
      await response.body?.cancel();
      return { ok: false, problem: `answered HTTP ${response.status}` };
    }
    return await readBounded(response);
  } catch {
    if (signal.aborted) return { ok: false, problem: 'the request was withdrawn while it decided' };
    if (deadline.aborted) return { ok: false, problem: `did not answer within ${seconds(timeoutMs)}` };
    return { ok: false, problem: 'could not be reached' };
  }
}

async function readBounded(response: Response): Promise<Reply> {
  const reader = response.body?.getReader();
  if (reader === undefined) return { ok: true, text: '' };
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.length;
    if (bytes > MAX_ANSWER_BYTES) {
      await reader.cancel();
      return { ok: false, problem: `answered more than ${MAX_ANSWER_BYTES} bytes` };
    }
    chunks.push(value);
  }
  return { ok: true, text: Buffer.concat(chunks).toString('utf8') };
}

/*
 * Security limitations
 * - A reviewer program runs as Airlock's own user, outside any sandbox: it is the operator's code,
 *   trusted like Airlock itself. Only its environment is cut down (PATH and LANG).
 * - An HTTP reviewer is reached with the host's network; the request holds the redacted command and
 *   reasons, never a secret value Airlock knows of.
 * - A program that ignores its process group (setsid) can outlive a timeout.
 */
