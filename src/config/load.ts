/**
 * From airlock.yaml text (or an options object) to a frozen, fully defaulted AirlockConfig.
 * A file that is present but invalid stops start-up with every bad key listed; it never falls back to
 * defaults, because a typo in a limit must not quietly become the default limit.
 */
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { AirlockError, isAirlockError } from '../errors/index.ts';
import { readAirlockEnvironment, type AirlockEnvironment, type EnvironmentVariables } from './environment.ts';
import { deepFreeze } from './freeze.ts';
import { freezeValidated } from './validated.ts';
import { flattenIssues, formatPath, type ConfigIssue } from './issues.ts';
import { airlockConfigSchema, type AirlockConfig } from './schema.ts';

export const CONFIG_FILE_NAME = 'airlock.yaml';

/** Anchors that reference anchors multiply ("billion laughs"); past this many alias expansions the file is refused. */
export const MAX_ALIAS_COUNT = 100;

/** A real airlock.yaml is a few KiB; the cap keeps a wrong path (a log, a binary) from being parsed at all. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Parses airlock.yaml text. Pure; `origin` names the source in messages (usually the file path). */
export function parseConfig(yamlText: string, origin: string): AirlockConfig {
  if (yamlText.length > MAX_CONFIG_BYTES) {
    throw new AirlockError(
      'INVALID_CONFIG',
      `${origin}: larger than ${MAX_CONFIG_BYTES} bytes; not a config file`,
      {
        origin,
        issues: [{ path: '', message: 'file too large' }],
      },
    );
  }
  const lineCounter = new LineCounter();
  let document: Document;
  try {
    document = parseDocument(yamlText, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    throw unparseable(origin, error);
  }
  // Warnings too (an unknown `!tag`, say): a value YAML only half understood is not a value to run with.
  const yamlProblems = [...document.errors, ...document.warnings];
  if (yamlProblems.length > 0) {
    const issues = yamlProblems.map((problem) => {
      const { line, col } = lineCounter.linePos(problem.pos[0]);
      return { path: '', message: problem.message, line, column: col };
    });
    const lines = issues.map((issue) => `  ${origin}:${issue.line}:${issue.column}: ${issue.message}`);
    throw new AirlockError('INVALID_CONFIG', `${origin} is not valid YAML:\n${lines.join('\n')}`, {
      origin,
      issues,
    });
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    throw unparseable(origin, error);
  }
  return validate(data ?? {}, origin, document, lineCounter);
}

function unparseable(origin: string, error: unknown): AirlockError {
  // The yaml package signals alias over-expansion with a ReferenceError, and absurd nesting overflows the
  // stack with a RangeError; both are the document's fault, so both are refusals, not crashes.
  const message =
    error instanceof ReferenceError
      ? `YAML aliases expand past ${MAX_ALIAS_COUNT} references; refused, since anchors that multiply can exhaust memory`
      : error instanceof RangeError
        ? 'nested too deeply to be a configuration'
        : `cannot be read as YAML: ${error instanceof Error ? error.message : String(error)}`;
  return new AirlockError(
    'INVALID_CONFIG',
    `${origin}: ${message}`,
    { origin, issues: [{ path: '', message }] },
    {
      cause: error,
    },
  );
}

/**
 * Validates an already-parsed value (the options object given to the library entry) with the same schema,
 * so code that never touches a file gets the same checks and defaults.
 */
export function parseConfigObject(value: unknown, origin = 'options'): AirlockConfig {
  return validate(value ?? {}, origin, undefined, undefined);
}

/** The configuration when there is no airlock.yaml: the schema's defaults, frozen. */
export function defaultConfig(): AirlockConfig {
  return parseConfigObject({}, 'defaults');
}

function validate(
  data: unknown,
  origin: string,
  document: Document | undefined,
  lineCounter: LineCounter | undefined,
): AirlockConfig {
  const result = airlockConfigSchema.safeParse(data);
  if (result.success) return freezeValidated(result.data);
  const issues: ConfigIssue[] = flattenIssues(result.error.issues).map(({ segments, message }) => {
    const line = document && lineCounter ? lineOf(document, lineCounter, segments) : undefined;
    return { path: formatPath(segments), message, ...(line === undefined ? {} : { line }) };
  });
  const lines = issues.map((issue) => {
    const where = issue.path === '' ? '' : `${issue.path}: `;
    const at = issue.line === undefined ? '' : ` (line ${issue.line})`;
    return `  ${origin}: ${where}${issue.message}${at}`;
  });
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  throw new AirlockError(
    'INVALID_CONFIG',
    `invalid configuration in ${origin} (${count}):\n${lines.join('\n')}`,
    {
      origin,
      issues,
    },
  );
}

/** The line of the nearest node that exists on the path (a missing key is reported at its parent). */
function lineOf(
  document: Document,
  lineCounter: LineCounter,
  segments: readonly PropertyKey[],
): number | undefined {
  for (let length = segments.length; length > 0; length--) {
    const node: unknown = document.getIn(segments.slice(0, length), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}

export interface ResolveConfigOptions {
  /** Where to look for airlock.yaml, and what a relative explicitPath is relative to. */
  readonly cwd: string;
  readonly env: EnvironmentVariables;
  /** A path the user named (`--config`); unlike the implicit airlock.yaml, it must exist. */
  readonly explicitPath?: string | undefined;
}

export interface ResolvedConfig {
  readonly config: AirlockConfig;
  /** The file the config came from; absent when the defaults were used. */
  readonly path?: string;
  readonly environment: AirlockEnvironment;
}

/** Finds and loads the configuration for a run: explicit path, else ./airlock.yaml, else the defaults. */
export async function resolveConfig(options: ResolveConfigOptions): Promise<ResolvedConfig> {
  const environment = readAirlockEnvironment(options.env);
  const cwd = resolve(options.cwd);
  if (options.explicitPath !== undefined) {
    const path = resolve(cwd, options.explicitPath);
    const text = await readConfigFile(path);
    if (text === undefined) {
      throw new AirlockError('INVALID_CONFIG', `config file ${path} does not exist`, {
        path,
        reason: 'missing',
      });
    }
    return deepFreeze({ config: parseConfig(text, displayPath(cwd, path)), path, environment });
  }
  const path = join(cwd, CONFIG_FILE_NAME);
  const text = await readConfigFile(path);
  if (text !== undefined)
    return deepFreeze({ config: parseConfig(text, CONFIG_FILE_NAME), path, environment });
  // Ignoring a near-miss name would run with defaults while the author believes their limits apply.
  const nearMiss = join(cwd, 'airlock.yml');
  if (await exists(nearMiss)) {
    throw new AirlockError(
      'INVALID_CONFIG',
      `found ${nearMiss}; Airlock reads ${CONFIG_FILE_NAME}: rename the file`,
      {
        path: nearMiss,
        reason: 'misnamed',
      },
    );
  }
  return deepFreeze({ config: defaultConfig(), environment });
}

function displayPath(cwd: string, path: string): string {
  const inside = relative(cwd, path);
  return inside !== '' && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw unreadable(path, error);
  }
}

/** The file's text, or undefined when it does not exist. Any other failure is an error, never "absent". */
async function readConfigFile(path: string): Promise<string | undefined> {
  let handle;
  try {
    // O_NONBLOCK so a FIFO at the path cannot hang start-up before the regular-file check.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw unreadable(path, error);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new AirlockError('INVALID_CONFIG', `${path} is not a regular file`, {
        path,
        reason: 'not_a_file',
      });
    }
    if (stats.size > MAX_CONFIG_BYTES) {
      throw new AirlockError(
        'INVALID_CONFIG',
        `${path} is larger than ${MAX_CONFIG_BYTES} bytes; not a config file`,
        {
          path,
          reason: 'too_large',
        },
      );
    }
    const bytes = await handle.readFile();
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch (error) {
      throw new AirlockError(
        'INVALID_CONFIG',
        `${path} is not UTF-8 text`,
        { path, reason: 'not_utf8' },
        { cause: error },
      );
    }
  } catch (error) {
    if (isAirlockError(error)) throw error;
    throw unreadable(path, error);
  } finally {
    await handle.close();
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

function unreadable(path: string, error: unknown): AirlockError {
  const reason = errorCode(error) ?? 'unreadable';
  return new AirlockError(
    'INVALID_CONFIG',
    `cannot read config file ${path} (${reason})`,
    { path, reason },
    {
      cause: error,
    },
  );
}
