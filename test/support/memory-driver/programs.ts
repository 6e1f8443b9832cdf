/**
 * The programs the in-memory sandbox knows: enough of echo, printf, cat, tr, head, ls, mkdir, rm,
 * touch, sleep, pwd, cd, printenv, test and exit for tests to exercise sessions and the router.
 * Unknown names exit 127 with the message bash prints (the real sandboxes run bash).
 */
import { FsError, MemoryFs } from './memory-fs.ts';

export interface ProgramContext {
  readonly args: readonly string[];
  readonly fs: MemoryFs;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly signal: AbortSignal;
  /** Everything left on stdin; a program that reads it takes it all. */
  stdin(): Buffer;
  out(chunk: Buffer | string): Promise<void>;
  err(chunk: Buffer | string): Promise<void>;
  chdir(path: string): void;
}

/** `exit N`: ends the whole script with that status. */
export class ExitRequest extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`exit ${status}`);
    this.status = status;
  }
}

type Program = (context: ProgramContext) => Promise<number>;

/** Chunk size for generated output, so a slow sink gets backpressure between chunks. */
const CHUNK_BYTES = 64 * 1024;

const path = (context: ProgramContext, name: string): string => MemoryFs.resolve(context.cwd, name);

async function fail(context: ProgramContext, program: string, name: string, error: unknown): Promise<number> {
  if (!(error instanceof FsError)) throw error;
  await context.err(`${program}: ${name}: ${error.message}\n`);
  return 1;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** `a-z`, `\n`, `\0`, `\\` in a tr set, as the list of characters it names. */
function trSet(spec: string): string[] {
  const chars: string[] = [];
  for (let i = 0; i < spec.length; i += 1) {
    let char = spec[i] as string;
    if (char === '\\' && i + 1 < spec.length) {
      i += 1;
      const escaped = spec[i] as string;
      char = escaped === 'n' ? '\n' : escaped === '0' ? '\0' : escaped === 't' ? '\t' : escaped;
    }
    if (spec[i + 1] === '-' && i + 2 < spec.length) {
      const end = spec.charCodeAt(i + 2);
      for (let code = char.charCodeAt(0); code <= end; code += 1) chars.push(String.fromCharCode(code));
      i += 2;
    } else {
      chars.push(char);
    }
  }
  return chars;
}

function formatPrintf(format: string, args: readonly string[]): string {
  let out = '';
  let next = 0;
  do {
    out += format.replace(/%[sd%]|\\[nt\\]/g, (token) => {
      if (token === '%%') return '%';
      if (token === '\\n') return '\n';
      if (token === '\\t') return '\t';
      if (token === '\\\\') return '\\';
      const value = args[next] ?? '';
      next += 1;
      return token === '%d' ? String(Number.parseInt(value || '0', 10)) : value;
    });
  } while (next < args.length && format.includes('%'));
  return out;
}

function test(args: readonly string[], fs: MemoryFs, cwd: string): boolean {
  const [a, b, c] = args;
  if (args.length === 2 && a !== undefined && b !== undefined) {
    const node = fs.get(MemoryFs.resolve(cwd, b));
    if (a === '-e') return node !== undefined;
    if (a === '-f') return node?.kind === 'file';
    if (a === '-d') return node?.kind === 'directory';
    if (a === '-n') return b !== '';
    if (a === '-z') return b === '';
  }
  if (args.length === 3 && b === '=') return a === c;
  if (args.length === 3 && b === '!=') return a !== c;
  return args.length === 1 && a !== '';
}

export const programs: Readonly<Record<string, Program>> = {
  true: async () => 0,
  false: async () => 1,
  ':': async () => 0,
  echo: async (context) => {
    const newline = context.args[0] !== '-n';
    const words = newline ? context.args : context.args.slice(1);
    await context.out(`${words.join(' ')}${newline ? '\n' : ''}`);
    return 0;
  },
  printf: async (context) => {
    const [format = '', ...args] = context.args;
    await context.out(formatPrintf(format, args));
    return 0;
  },
  pwd: async (context) => {
    await context.out(`${context.cwd}\n`);
    return 0;
  },
  cd: async (context) => {
    const target = path(context, context.args[0] ?? context.env['HOME'] ?? '/workspace');
    if (context.fs.get(target)?.kind !== 'directory') {
      await context.err(`sh: 1: cd: can't cd to ${context.args[0] ?? ''}\n`);
      return 2;
    }
    context.chdir(target);
    return 0;
  },
  exit: async (context) => {
    throw new ExitRequest(Number.parseInt(context.args[0] ?? '0', 10) & 0xff);
  },
  sleep: async (context) => {
    const seconds = Number(context.args[0]);
    if (!Number.isFinite(seconds) || seconds < 0) {
      await context.err(`sleep: invalid time interval '${context.args[0] ?? ''}'\n`);
      return 1;
    }
    await sleep(seconds * 1000, context.signal);
    return 0;
  },
  cat: async (context) => {
    const names = context.args.length === 0 ? ['-'] : context.args;
    let status = 0;
    for (const name of names) {
      try {
        await context.out(name === '-' ? context.stdin() : context.fs.read(path(context, name)));
      } catch (error) {
        status = await fail(context, 'cat', name, error);
      }
    }
    return status;
  },
  tr: async (context) => {
    const [from = '', to = ''] = context.args;
    const source = trSet(from);
    const target = trSet(to);
    const map = new Map(source.map((char, i) => [char, target[Math.min(i, target.length - 1)] ?? char]));
    const text = context.stdin().toString('latin1');
    await context.out(Buffer.from([...text].map((char) => map.get(char) ?? char).join(''), 'latin1'));
    return 0;
  },
  head: async (context) => {
    const [flag, count, name] = context.args;
    if ((flag !== '-c' && flag !== '-n') || count === undefined || !/^\d+$/.test(count)) {
      await context.err('head: usage: head -c BYTES|-n LINES [FILE]\n');
      return 1;
    }
    const wanted = Number(count);
    if (name === '/dev/zero') {
      for (let sent = 0; sent < wanted; sent += CHUNK_BYTES) {
        context.signal.throwIfAborted();
        await context.out(Buffer.alloc(Math.min(CHUNK_BYTES, wanted - sent)));
      }
      return 0;
    }
    let data: Buffer;
    try {
      data = name === undefined ? context.stdin() : context.fs.read(path(context, name));
    } catch (error) {
      return fail(context, 'head', name ?? '-', error);
    }
    if (flag === '-c') {
      await context.out(data.subarray(0, wanted));
    } else {
      const lines = data.toString('utf8').split(/(?<=\n)/);
      await context.out(lines.slice(0, wanted).join(''));
    }
    return 0;
  },
  ls: async (context) => {
    const names = context.args.filter((arg) => !arg.startsWith('-'));
    const target = path(context, names[0] ?? '.');
    const node = context.fs.get(target);
    if (node === undefined) {
      await context.err(`ls: cannot access '${names[0] ?? '.'}': No such file or directory\n`);
      return 2;
    }
    const entries = node.kind === 'file' ? [names[0] ?? target] : context.fs.list(target);
    const shown = entries.map((entry) => entry.slice(entry.lastIndexOf('/') + 1));
    await context.out(shown.map((name) => `${name}\n`).join(''));
    return 0;
  },
  mkdir: async (context) => {
    const parents = context.args.includes('-p');
    let status = 0;
    for (const name of context.args.filter((arg) => arg !== '-p')) {
      try {
        context.fs.mkdir(path(context, name), parents);
      } catch (error) {
        status = await fail(context, 'mkdir', `cannot create directory '${name}'`, error);
      }
    }
    return status;
  },
  rm: async (context) => {
    const flags = context.args.filter((arg) => arg.startsWith('-')).join('');
    let status = 0;
    for (const name of context.args.filter((arg) => !arg.startsWith('-'))) {
      try {
        context.fs.remove(path(context, name), flags.includes('r'));
      } catch (error) {
        if (flags.includes('f') && error instanceof FsError && error.errno === 'ENOENT') continue;
        status = await fail(context, 'rm', `cannot remove '${name}'`, error);
      }
    }
    return status;
  },
  touch: async (context) => {
    let status = 0;
    for (const name of context.args) {
      const target = path(context, name);
      try {
        const existing = context.fs.get(target);
        context.fs.write(target, existing?.kind === 'file' ? existing.data : Buffer.alloc(0));
      } catch (error) {
        status = await fail(context, 'touch', `cannot touch '${name}'`, error);
      }
    }
    return status;
  },
  printenv: async (context) => {
    const names = context.args.length === 0 ? Object.keys(context.env).sort() : context.args;
    const known = names.filter((name) => context.env[name] !== undefined);
    const lines = known.map((name) =>
      context.args.length === 0 ? `${name}=${context.env[name]}` : (context.env[name] as string),
    );
    await context.out(lines.map((line) => `${line}\n`).join(''));
    return known.length === names.length ? 0 : 1;
  },
  test: async (context) => (test(context.args, context.fs, context.cwd) ? 0 : 1),
  '[': async (context) => {
    if (context.args.at(-1) !== ']') {
      await context.err('sh: 1: [: missing ]\n');
      return 2;
    }
    return test(context.args.slice(0, -1), context.fs, context.cwd) ? 0 : 1;
  },
};
