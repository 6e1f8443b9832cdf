/**
 * A command's own working directory, environment and standard input: checked before anything is
 * judged or recorded, and the environment shown to the policy as the assignments it is.
 */
import { AirlockError } from '../errors/index.ts';
import { resolveSandboxPath } from '../sandbox/index.ts';
import type { RunOptions } from './types.ts';

/** Variables one command may set; the session's own are set when it is created. */
export const MAX_COMMAND_ENV_ENTRIES = 64;
/** Bytes of all a command's variables together: the policy reads every one of them. */
export const MAX_COMMAND_ENV_BYTES = 64 * 1024;
/**
 * Standard input given with the command, in bytes. It travels in the command's start frame (at most
 * 4 MiB with the command and its environment); more is a file to write first.
 */
export const MAX_STDIN_BYTES = 1024 * 1024;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface RunExtras {
  /** Absolute, inside /workspace or /tmp; undefined: the sandbox's default (/workspace). */
  readonly cwd: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: Uint8Array | undefined;
}

function invalid(field: string, message: string, facts: Record<string, unknown> = {}): never {
  throw new AirlockError('INVALID_ARGUMENT', message, { field, ...facts });
}

/** Throws INVALID_ARGUMENT (or PATH_OUTSIDE_SANDBOX for the directory) on anything a sandbox would refuse. */
export function checkRunExtras(options: RunOptions): RunExtras {
  const cwd = options.cwd === undefined ? undefined : checkCwd(options.cwd);
  const env = options.env === undefined ? {} : checkEnv(options.env);
  let stdin: Uint8Array | undefined;
  if (options.stdin !== undefined) {
    const { stdin: given } = options;
    if (typeof given !== 'string' && !(given instanceof Uint8Array)) {
      invalid('stdin', 'stdin must be text or bytes');
    }
    stdin = typeof given === 'string' ? new TextEncoder().encode(given) : given;
    if (stdin.byteLength > MAX_STDIN_BYTES) {
      invalid(
        'stdin',
        `stdin is ${stdin.byteLength} bytes; the limit is ${MAX_STDIN_BYTES} (write larger input to a file and redirect it)`,
        { limit: MAX_STDIN_BYTES },
      );
    }
  }
  return { cwd, env, stdin };
}

function checkCwd(cwd: unknown): string {
  if (typeof cwd !== 'string' || cwd === '')
    invalid('cwd', 'cwd must be a directory path, like "src" or "/tmp"');
  // The same rule as file copies: inside the writable areas, no "..", relative to /workspace.
  return resolveSandboxPath(cwd, { allowRoot: true });
}

function checkEnv(env: unknown): Record<string, string> {
  if (typeof env !== 'object' || env === null || Array.isArray(env)) {
    invalid('env', 'env must be an object of variable names to text values');
  }
  const entries = Object.entries(env);
  if (entries.length > MAX_COMMAND_ENV_ENTRIES) {
    invalid('env', `a command sets at most ${MAX_COMMAND_ENV_ENTRIES} variables`, {
      limit: MAX_COMMAND_ENV_ENTRIES,
    });
  }
  let bytes = 0;
  const checked: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!ENV_NAME.test(name)) {
      invalid('env', `${JSON.stringify(name.slice(0, 80))} is not a variable name (letters, digits, _)`, {
        name: name.slice(0, 80),
      });
    }
    if (typeof value !== 'string' || value.includes('\0')) {
      invalid('env', `env.${name} must be text without NUL bytes`, { name });
    }
    bytes += name.length + value.length + 2;
    if (bytes > MAX_COMMAND_ENV_BYTES) {
      invalid('env', `the command's variables are over ${MAX_COMMAND_ENV_BYTES} bytes together`, {
        limit: MAX_COMMAND_ENV_BYTES,
      });
    }
    checked[name] = value;
  }
  return checked;
}

/** `value` as one single-quoted shell word: nothing in it is expanded. */
function quoted(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * What the policy judges: the variables as an `export` before the command. A variable the policy
 * weighs (LD_PRELOAD, BASH_ENV, PATH…) is judged exactly as if the command had set it itself, so
 * passing it beside the command instead of in it changes nothing; a person asked sees it among the
 * parsed commands. The values are quoted: the assignment is judged, never expanded.
 */
export function judgedText(command: string, env: Readonly<Record<string, string>>): string {
  const names = Object.keys(env);
  if (names.length === 0) return command;
  const assignments = names.map((name) => `${name}=${quoted(env[name] ?? '')}`);
  return `export ${assignments.join(' ')}\n${command}`;
}

/** What the audit log keeps of a command's extras: the directory and values redacted, stdin by its size only. */
export function recordedExtras(
  extras: RunExtras,
  redact: (text: string) => string,
): { cwd?: string; env?: Record<string, string>; stdinBytes?: number } {
  return {
    ...(extras.cwd === undefined ? {} : { cwd: redact(extras.cwd) }),
    ...(Object.keys(extras.env).length === 0
      ? {}
      : {
          env: Object.fromEntries(Object.entries(extras.env).map(([name, value]) => [name, redact(value)])),
        }),
    ...(extras.stdin === undefined ? {} : { stdinBytes: extras.stdin.byteLength }),
  };
}
