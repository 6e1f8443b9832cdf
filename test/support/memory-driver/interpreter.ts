/**
 * Runs a mini-shell script against the in-memory file system: and-or lists, redirections, the
 * programs of programs.ts. Output goes through `out`/`err`, which apply backpressure, and the
 * abort signal stops the script between commands and inside `sleep` and long outputs.
 */
import { FsError, MemoryFs } from './memory-fs.ts';
import { expand, parseScript, UnsupportedSyntax } from './mini-shell.ts';
import type { ListItem, SimpleCommand } from './mini-shell.ts';
import { ExitRequest, programs } from './programs.ts';

export interface ScriptIo {
  readonly fs: MemoryFs;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly signal: AbortSignal;
  readonly stdin: Buffer;
  out(chunk: Buffer): Promise<void>;
  err(chunk: Buffer): Promise<void>;
}

type Writer = (chunk: Buffer) => Promise<void>;

/** Runs `source`; resolves with its exit status, rejects with the signal's reason when aborted. */
export async function runScript(source: string, io: ScriptIo): Promise<number> {
  let items: ListItem[];
  try {
    items = parseScript(source);
  } catch (error) {
    if (!(error instanceof UnsupportedSyntax)) throw error;
    await io.err(Buffer.from(`sh: the in-memory sandbox does not support ${error.message}\n`));
    return 2;
  }
  let cwd = io.cwd;
  let stdin: Buffer | null = io.stdin;
  const takeStdin = (): Buffer => {
    const taken = stdin ?? Buffer.alloc(0);
    stdin = null;
    return taken;
  };
  let status = 0;
  let skip = false;
  try {
    for (const item of items) {
      io.signal.throwIfAborted();
      if (!skip) {
        const env = { ...io.env, '?': String(status) };
        status = await runCommand(item.command, { ...io, env }, cwd, takeStdin, (next) => {
          cwd = next;
        });
      }
      skip = (item.next === '&&' && status !== 0) || (item.next === '||' && status === 0);
    }
  } catch (error) {
    if (error instanceof ExitRequest) return error.status;
    throw error;
  }
  return status;
}

async function runCommand(
  command: SimpleCommand,
  io: ScriptIo,
  cwd: string,
  takeStdin: () => Buffer,
  chdir: (path: string) => void,
): Promise<number> {
  const [name = '', ...args] = command.words.map((word) => expand(word, io.env));
  const writers: Record<1 | 2, Writer> = { 1: io.out, 2: io.err };
  const files: Array<{ path: string; chunks: Buffer[]; append: boolean }> = [];
  let input: Buffer | null = null;
  for (const redirect of command.redirects) {
    if (redirect.mode === 'dup') {
      if (redirect.fd !== 0) writers[redirect.fd] = writers[redirect.target as 1 | 2];
      continue;
    }
    const target = MemoryFs.resolve(cwd, expand(redirect.target as never, io.env));
    try {
      if (redirect.mode === 'read') {
        input = io.fs.read(target);
        continue;
      }
      // Opening truncates at once and fails early, as a real shell's open(2) does.
      if (redirect.mode === 'write') io.fs.write(target, Buffer.alloc(0));
      else io.fs.write(target, Buffer.alloc(0), true);
    } catch (error) {
      if (!(error instanceof FsError)) throw error;
      await io.err(Buffer.from(`sh: 1: cannot open ${target}: ${error.message}\n`));
      return redirect.mode === 'read' ? 1 : 2;
    }
    if (redirect.fd === 0) continue;
    const file = { path: target, chunks: [] as Buffer[], append: true };
    files.push(file);
    writers[redirect.fd] = async (chunk) => {
      file.chunks.push(chunk);
    };
  }
  const program = programs[name];
  let status = 127;
  try {
    if (program === undefined) {
      await writers[2](Buffer.from(`sh: line 1: ${name}: command not found\n`));
    } else {
      status = await program({
        args,
        fs: io.fs,
        env: io.env,
        cwd,
        signal: io.signal,
        stdin: () => input ?? takeStdin(),
        out: (chunk) => writers[1](Buffer.from(chunk)),
        err: (chunk) => writers[2](Buffer.from(chunk)),
        chdir,
      });
    }
  } finally {
    // What a command wrote before it ended (or called exit) is in its files either way.
    for (const file of files) {
      const problem = flush(io.fs, file);
      if (problem !== null) {
        await io.err(Buffer.from(`sh: 1: ${file.path}: ${problem}\n`));
        status = 1;
      }
    }
  }
  return status;
}

/** Writes a redirection's collected output; returns why it failed, or null. */
function flush(fs: MemoryFs, file: { path: string; chunks: Buffer[]; append: boolean }): string | null {
  try {
    fs.write(file.path, Buffer.concat(file.chunks), file.append);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
