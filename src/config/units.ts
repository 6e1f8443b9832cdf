/**
 * Value parsers for sizes, durations, CPU shares, counts and rates. Pure: the same functions validate
 * airlock.yaml (inside the zod schema) and CLI flags, so a value means the same thing in both places.
 *
 * Conventions, decided once here:
 * - Sizes use binary multiples whatever the spelling: `k`, `kb`, `kib` (any case) all mean 1024, as in
 *   Docker and cgroup tooling. A plain number is bytes (what cgroup `memory.max` takes).
 * - Durations: `500ms`, `30s`, `5m`, `1h`, combined largest-first (`1h30m`). A plain number is SECONDS,
 *   in YAML and on the command line alike, because `timeout: 30` meaning 30 ms would kill every command
 *   and `timeout 10` in coreutils means seconds too.
 * - Everything must be positive: a zero memory limit, timeout or rate is never "unlimited" here.
 */
import { AirlockError } from '../errors/index.ts';

export interface ParseOptions {
  /** Names the value in messages: a flag (`--memory`) or a key. Omitted inside the schema, whose issue path already says where. */
  readonly label?: string | undefined;
  readonly min?: number | undefined;
  readonly max?: number | undefined;
}

export interface Rate {
  readonly tokens: number;
  readonly perMs: number;
}

/** What a rejected value looked like and what a valid one looks like; carried in `AirlockError.details`. */
export interface ValueProblemDetails {
  readonly label?: string;
  readonly value: unknown;
  readonly expected: 'size' | 'duration' | 'cpus' | 'count' | 'rate';
  readonly example: string;
}

const hints = {
  size: { text: 'use a number with a unit, like 256m or 1g', example: '256m' },
  duration: {
    text: 'use a number with a unit, like 500ms, 30s, 5m or 1h30m (a plain number is seconds)',
    example: '30s',
  },
  cpus: { text: 'use a number of CPUs, like 0.5 or 2', example: '0.5' },
  count: { text: 'use a whole number, like 128', example: '128' },
  rate: { text: 'use a count per unit of time, like 30/min, 5/s or 100/h', example: '30/min' },
} as const;

type ValueKind = keyof typeof hints;

const KIB = 1024;
const sizeMultipliers: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: KIB,
  m: KIB ** 2,
  g: KIB ** 3,
  t: KIB ** 4,
};

/**
 * Node's timers overflow past 2^31-1 ms (about 24.8 days) and then fire after 1 ms, so a longer
 * "timeout" would kill every command at once. Refusing it here keeps that from ever reaching a timer.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** cgroup v2 `cpu.max` refuses a quota under 1000 µs per 100 ms period. */
export const MIN_CPUS = 0.01;
export const MAX_CPUS = 1024;

// Long inputs are cut in messages so a pasted blob cannot flood a terminal or a log line.
const MAX_SHOWN_CHARS = 40;

/** Shows a rejected value for a person: JSON-quoted (control characters escaped), cut when long. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > MAX_SHOWN_CHARS ? `${value.slice(0, MAX_SHOWN_CHARS)}…` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

function fail(kind: ValueKind, value: unknown, problem: string, options: ParseOptions | undefined): never {
  const hint = hints[kind];
  const label = options?.label;
  const subject = label === undefined ? describeValue(value) : `${label} ${describeValue(value)}`;
  const details: ValueProblemDetails = {
    ...(label === undefined ? {} : { label }),
    value,
    expected: kind,
    example: hint.example,
  };
  throw new AirlockError('INVALID_ARGUMENT', `${subject} ${problem}: ${hint.text}`, { ...details });
}

function checkBounds(
  kind: ValueKind,
  value: unknown,
  result: number,
  options: ParseOptions | undefined,
  format: (n: number) => string,
): number {
  if (options?.min !== undefined && result < options.min) {
    fail(kind, value, `is too small (the least is ${format(options.min)})`, options);
  }
  if (options?.max !== undefined && result > options.max) {
    fail(kind, value, `is too large (the most is ${format(options.max)})`, options);
  }
  return result;
}

const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|(b))?$/i;

/** `512m`, `1.5g`, `64KiB`, `256mb`, `1048576` → bytes (binary multiples). */
export function parseByteSize(value: string | number, options?: ParseOptions): number {
  let bytes: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value > Number.MAX_SAFE_INTEGER)
      fail('size', value, 'is too large', options);
    if (!Number.isInteger(value)) fail('size', value, 'is not a whole number of bytes', options);
    bytes = value;
  } else if (typeof value === 'string') {
    const match = SIZE_PATTERN.exec(value.trim());
    if (match === null) fail('size', value, 'is not a size', options);
    const [, digits = '', unit = '', byteSuffix = ''] = match;
    const multiplier = sizeMultipliers[(unit || byteSuffix).toLowerCase()] ?? 1;
    if (multiplier === 1 && digits.includes('.')) {
      fail('size', value, 'is not a whole number of bytes', options);
    }
    // Fractions of a unit (1.5g) round down to whole bytes.
    bytes = Math.floor(Number(digits) * multiplier);
    if (!Number.isSafeInteger(bytes)) fail('size', value, 'is too large', options);
  } else {
    fail('size', value, 'is not a size', options);
  }
  if (bytes <= 0) fail('size', value, 'is not a positive size', options);
  return checkBounds('size', value, bytes, options, formatByteSize);
}

const durationUnits = [
  { unit: 'h', ms: 3_600_000 },
  { unit: 'm', ms: 60_000 },
  { unit: 's', ms: 1000 },
  { unit: 'ms', ms: 1 },
] as const;

// `ms` must be tried before `m`, hence the alternation order.
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;
const PLAIN_NUMBER = /^\d+(?:\.\d+)?$/;

/** `500ms`, `30s`, `5m`, `1h`, `1m30s`, or a plain number of seconds → milliseconds. */
export function parseDuration(value: string | number, options?: ParseOptions): number {
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail('duration', value, 'is too long', options);
    ms = value * 1000;
  } else if (typeof value === 'string') {
    const text = value.trim();
    if (PLAIN_NUMBER.test(text)) {
      ms = Number(text) * 1000;
    } else {
      ms = sumDurationParts(text) ?? fail('duration', value, 'is not a duration', options);
    }
  } else {
    fail('duration', value, 'is not a duration', options);
  }
  if (!(ms > 0)) fail('duration', value, 'is not a positive duration', options);
  ms = Math.round(ms);
  if (ms === 0) fail('duration', value, 'is shorter than a millisecond', options);
  if (ms > MAX_DURATION_MS) fail('duration', value, 'is too long (the most is 24d20h31m23s)', options);
  return checkBounds('duration', value, ms, options, formatDuration);
}

/** Sums `1h30m`-style parts; undefined unless the whole text is parts in strictly decreasing unit order. */
function sumDurationParts(text: string): number | undefined {
  if (text === '') return undefined;
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let previousRank = -1;
  while (DURATION_PART.lastIndex < text.length) {
    const match = DURATION_PART.exec(text);
    if (match === null) return undefined;
    const [, amount = '', unit = ''] = match;
    const rank = durationUnits.findIndex((candidate) => candidate.unit === unit);
    // `30s1m` or `1m1m` is more likely a typo than a meaning.
    if (rank <= previousRank) return undefined;
    previousRank = rank;
    total += Number(amount) * (durationUnits[rank]?.ms ?? Number.NaN);
  }
  return total;
}

/** `0.5`, `2`, `'1.5'` → a CPU share (fraction of one CPU's time). */
export function parseCpus(value: string | number, options?: ParseOptions): number {
  let cpus: number;
  if (typeof value === 'number') {
    cpus = value;
  } else if (typeof value === 'string' && PLAIN_NUMBER.test(value.trim())) {
    cpus = Number(value.trim());
  } else {
    fail('cpus', value, 'is not a number of CPUs', options);
  }
  if (!Number.isFinite(cpus) || cpus <= 0) fail('cpus', value, 'is not a positive number of CPUs', options);
  return checkBounds(
    'cpus',
    value,
    cpus,
    { ...options, min: options?.min ?? MIN_CPUS, max: options?.max ?? MAX_CPUS },
    String,
  );
}

const WHOLE_NUMBER = /^\d+$/;

/** A positive whole number (pids, maxChars): `128`, `'128'`. */
export function parseCount(value: string | number, options?: ParseOptions): number {
  let count: number;
  if (typeof value === 'number') {
    count = value;
  } else if (typeof value === 'string' && WHOLE_NUMBER.test(value.trim())) {
    count = Number(value.trim());
  } else {
    fail('count', value, 'is not a whole number', options);
  }
  if (!Number.isSafeInteger(count)) {
    fail('count', value, Number.isInteger(count) ? 'is too large' : 'is not a whole number', options);
  }
  if (count <= 0) fail('count', value, 'is not a positive number', options);
  return checkBounds('count', value, count, options, String);
}

const rateUnits: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hour: 3_600_000,
};

const RATE_PATTERN = /^(\d+)\s*\/\s*([a-z]+)$/i;

/** `30/min`, `5/s`, `100/h` → a token bucket refill: `tokens` per `perMs` milliseconds. */
export function parseRate(value: string | number, options?: ParseOptions): Rate {
  // A bare number has no time unit, and guessing one would silently change how fast the agent may go.
  if (typeof value !== 'string') fail('rate', value, 'is not a rate', options);
  const match = RATE_PATTERN.exec(value.trim());
  const perMs = match === null ? undefined : rateUnits[(match[2] ?? '').toLowerCase()];
  if (match === null || perMs === undefined) fail('rate', value, 'is not a rate', options);
  const tokens = Number(match[1]);
  if (!Number.isSafeInteger(tokens)) fail('rate', value, 'is too large', options);
  if (tokens <= 0) fail('rate', value, 'is not a positive rate', options);
  return Object.freeze({ tokens, perMs });
}

/** The shortest exact spelling of a byte count: 536870912 → `512m`, 1000 → `1000`. */
export function formatByteSize(bytes: number): string {
  for (const unit of ['t', 'g', 'm', 'k'] as const) {
    const multiplier = sizeMultipliers[unit] ?? 1;
    if (bytes >= multiplier && bytes % multiplier === 0) return `${bytes / multiplier}${unit}`;
  }
  return String(bytes);
}

/** The largest-first spelling of a duration: 90_000 → `1m30s`, 500 → `500ms`. */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms);
  let text = '';
  for (const { unit, ms: size } of durationUnits) {
    const amount = Math.floor(rest / size);
    if (amount > 0) text += `${amount}${unit}`;
    rest -= amount * size;
  }
  return text === '' ? '0ms' : text;
}
