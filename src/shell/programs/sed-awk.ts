import { flags, opt, type Grammar } from '../getopt.ts';
import { grammar as defineGrammar } from '../getopt.ts';
import { lit, options, type Model, type ModelContext } from '../model.ts';
import type { WordValue } from '../types.ts';
import { ALL_VARIABLES } from '../types.ts';
import { literalWord } from '../words.ts';

export interface SedScriptEffects {
  readonly executes: boolean;
  readonly writes: readonly string[];
  readonly reads: readonly string[];
  /** Something we could not parse: treat as unknown. */
  readonly unknown: boolean;
}

/**
 * Scans a GNU sed script for the commands that run or touch files: `e`, `s///e`, `w`/`W` and `s///w`
 * (write), `r`/`R` (read). Unknown syntax is reported so the caller refuses to allow it.
 */
export function scanSedScript(script: string): SedScriptEffects {
  const writes: string[] = [];
  const reads: string[] = [];
  let executes = false;
  let unknown = false;
  let i = 0;
  const n = script.length;
  const skipSpace = () => {
    while (i < n && /[ \t]/.test(script[i] as string)) i++;
  };
  const restOfLine = (): string => {
    const end = script.indexOf('\n', i);
    const text = script.slice(i, end < 0 ? n : end).trim();
    i = end < 0 ? n : end + 1;
    return text;
  };
  const delimited = (delim: string): boolean => {
    // Reads up to the unescaped delimiter; returns false when it never comes.
    while (i < n) {
      const c = script[i] as string;
      if (c === '\\') {
        i += 2;
        continue;
      }
      if (c === '\n' && delim !== '\n') return false;
      i++;
      if (c === delim) return true;
    }
    return false;
  };
  const address = () => {
    skipSpace();
    const c = script[i];
    if (c === undefined) return;
    if (/[\d$]/.test(c)) {
      while (i < n && /[\d$~+]/.test(script[i] as string)) i++;
    } else if (c === '/' || c === '\\') {
      const delim = c === '\\' ? (script[i + 1] ?? '/') : '/';
      i += c === '\\' ? 2 : 1;
      if (!delimited(delim)) unknown = true;
      while (i < n && /[IM]/.test(script[i] as string)) i++;
    }
  };
  while (i < n && !unknown) {
    skipSpace();
    const c0 = script[i];
    if (c0 === undefined) break;
    if (c0 === '\n' || c0 === ';' || c0 === '}') {
      i++;
      continue;
    }
    if (c0 === '#') {
      restOfLine();
      continue;
    }
    address();
    skipSpace();
    if (script[i] === ',') {
      i++;
      address();
      skipSpace();
    }
    if (script[i] === '!') {
      i++;
      skipSpace();
    }
    const cmd = script[i];
    i++;
    switch (cmd) {
      case undefined:
        break;
      case '{':
      case 'p':
      case 'P':
      case 'd':
      case 'D':
      case 'n':
      case 'N':
      case 'g':
      case 'G':
      case 'h':
      case 'H':
      case 'x':
      case 'l':
      case '=':
      case 'z':
      case 'F':
        break;
      case 'q':
      case 'Q':
      case 'L':
        while (i < n && /\d/.test(script[i] as string)) i++;
        break;
      case ':':
      case 'b':
      case 't':
      case 'T':
        while (i < n && !/[;\n}]/.test(script[i] as string)) i++;
        break;
      case 'a':
      case 'i':
      case 'c':
        restOfLine();
        break;
      case 'e':
        executes = true;
        restOfLine();
        break;
      case 'w':
      case 'W':
        writes.push(restOfLine());
        break;
      case 'r':
      case 'R':
        reads.push(restOfLine());
        break;
      case 'y':
      case 's': {
        const delim = script[i];
        if (delim === undefined || delim === '\n' || delim === '\\') {
          unknown = true;
          break;
        }
        i++;
        if (!delimited(delim) || !delimited(delim)) {
          unknown = true;
          break;
        }
        if (cmd === 'y') break;
        while (i < n) {
          const f = script[i] as string;
          if (/[gpiImM0-9]/.test(f)) i++;
          else if (f === 'e') {
            executes = true;
            i++;
          } else if (f === 'w') {
            i++;
            writes.push(restOfLine());
            break;
          } else break;
        }
        break;
      }
      default:
        unknown = true;
    }
  }
  return { executes, writes, reads, unknown };
}

const sedGrammar: Grammar = defineGrammar({
  options: [
    ...flags(
      '-n',
      '--quiet',
      '--silent',
      '-E',
      '-r',
      '--regexp-extended',
      '-s',
      '--separate',
      '-u',
      '--unbuffered',
      '-z',
      '--null-data',
      '--posix',
      '--debug',
      '--sandbox',
      '--follow-symlinks',
      '-b',
      '--binary',
    ),
    opt(['-e', '--expression'], 'required'),
    opt(['-f', '--file'], 'required'),
    opt(['-i', '--in-place'], 'optional'),
    opt(['-l', '--line-length'], 'required'),
  ],
  abbreviations: true,
  unknown: 'opaque',
});

function sedScriptEffects(ctx: ModelContext, script: WordValue): void {
  const text = lit(script);
  if (text === null) {
    ctx.hazard('unseen-code', 'a sed script only known at run time');
    return;
  }
  const found = scanSedScript(text);
  if (found.unknown) ctx.hazard('opaque-option', 'a sed script this policy cannot read');
  if (found.executes) {
    ctx.code('sed', 'inline', text);
    ctx.hazard('unseen-code', 'the sed script runs shell commands (e command or s///e)');
  }
  const asWord = (value: string): WordValue => literalWord(value, script.span);
  for (const file of found.writes) {
    if (file === '/dev/stdout' || file === '/dev/stderr') continue;
    ctx.write(/\$/.test(file) ? ctx.unknownWord(file) : asWord(file));
  }
  for (const file of found.reads) ctx.read(/\$/.test(file) ? ctx.unknownWord(file) : asWord(file));
}

export const sed: Model = (ctx, args) => {
  const parsed = options(ctx, args, sedGrammar);
  const scripts = parsed.options.filter((o) => o.name === '-e').map((o) => o.value);
  const files = parsed.options.filter((o) => o.name === '-f');
  let operands = parsed.operands;
  if (scripts.length === 0 && files.length === 0) {
    const first = operands[0];
    if (first) scripts.push(first);
    operands = operands.slice(1);
  }
  for (const script of scripts) if (script) sedScriptEffects(ctx, script);
  for (const file of files) {
    if (file.value) ctx.read(file.value);
    ctx.hazard('unseen-code', 'sed -f runs a script file the policy cannot see');
  }
  const inPlace = parsed.options.some((o) => o.name === '-i');
  for (const operand of operands) {
    ctx.read(operand);
    if (inPlace) ctx.write(operand);
  }
};

/**
 * Whether an awk program can run commands or touch files: `system()`, pipes (`print | "sh"`,
 * `"cmd" | getline`), output redirection (`print > file`) and `getline < file`. Over-approximates:
 * a `>` comparison also counts.
 */
export function awkProgramIsPlain(program: string): boolean {
  const code = stripAwkLiterals(program);
  return !/\bsystem\b|\|&?|\bgetline\b|>|\bclose\b|\bfflush\b|ENVIRON|PROCINFO|@load|@include/.test(code);
}

function stripAwkLiterals(program: string): string {
  return program.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\/(?:[^/\\\n]|\\.)+\//g, '//');
}

export interface AwkEffects {
  /** `system()`, a pipe to or from a command, a coprocess, `/inet/` sockets, extensions. */
  readonly runs: string | null;
  /** Files named by `print > "f"`, `>> "f"` and `getline < "f"`. */
  readonly writes: readonly string[];
  readonly reads: readonly string[];
  /** A redirection to a file named by an expression: where it writes is only known at run time. */
  readonly writesUnknown: boolean;
  readonly environment: boolean;
}

export function scanAwk(program: string): AwkEffects {
  const code = stripAwkLiterals(program);
  let runs: string | null = null;
  if (/\bsystem\s*\(/.test(code)) runs = 'system()';
  else if (/\|&/.test(program) || /\/inet\//.test(program)) runs = 'a coprocess or network socket';
  else if (/\|\s*getline|\|\s*"/.test(program) || /print[f]?\b[^;{}]*\|/.test(code))
    runs = 'a pipe to a command';
  else if (/@load|@include/.test(code)) runs = 'an extension';
  const writes = [...program.matchAll(/>>?\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] as string);
  const reads = [...program.matchAll(/getline[^<;{}]*<\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] as string);
  const literalRedirects = [...code.matchAll(/>>?\s*""/g)].length;
  const redirects = [...code.matchAll(/(?:print|printf)[^;{}]*?>>?/g)].length;
  return {
    runs,
    writes,
    reads,
    writesUnknown: redirects > literalRedirects,
    environment: /ENVIRON/.test(code),
  };
}

const AWK_GRAMMAR = defineGrammar({
  options: [
    opt(['-F', '--field-separator'], 'required'),
    opt(['-v', '--assign'], 'required'),
    opt(['-f', '--file'], 'required'),
    opt(['-e', '--source'], 'required'),
    opt(['-i', '--include', '-l', '--load', '-E', '--exec'], 'required', 'opaque'),
    ...flags(
      '-b',
      '-c',
      '-C',
      '-g',
      '-h',
      '-M',
      '-n',
      '-N',
      '-O',
      '-P',
      '-r',
      '-s',
      '-S',
      '--sandbox',
      '-t',
      '-V',
      '--version',
      '--posix',
      '--traditional',
      '--re-interval',
    ),
    opt(['-d', '-D', '-L', '-o', '-p'], 'optional', 'opaque'),
  ],
  stopAtOperand: true,
  unknown: 'opaque',
});

export const awk: Model = (ctx, args) => {
  const parsed = options(ctx, args, AWK_GRAMMAR);
  const inline = parsed.options.filter((o) => o.name === '-e').map((o) => o.value);
  const files = parsed.options.filter((o) => o.name === '-f');
  let operands = parsed.operands;
  if (inline.length === 0 && files.length === 0) {
    if (operands[0]) inline.push(operands[0]);
    operands = operands.slice(1);
  }
  const sandboxed = parsed.options.some((o) => o.name === '--sandbox');
  for (const program of inline) awkProgram(ctx, lit(program), sandboxed);
  for (const file of files) {
    // A program file in the sandbox is the project's code, run contained.
    if (file.value) ctx.read(file.value);
    ctx.code('awk', 'file', null);
  }
  for (const operand of operands) {
    // `var=value` operands assign awk variables; everything else is an input file.
    if (/^[A-Za-z_]\w*=/.test(lit(operand) ?? '')) continue;
    ctx.read(operand);
  }
};

function awkProgram(ctx: ModelContext, text: string | null, sandboxed: boolean): void {
  if (text === null) {
    ctx.code('awk', 'unknown', null);
    ctx.hazard('unseen-code', 'an awk program only known at run time');
    return;
  }
  const found = scanAwk(text);
  if (found.runs !== null && !sandboxed) {
    // awk is for text; running programs from it is how escapes hide (`awk 'BEGIN{system("sh")}'`).
    ctx.hazard('escape-hatch', `the awk program runs commands through ${found.runs}`, 'deny');
    return;
  }
  const asWord = (value: string): WordValue => literalWord(value, ctx.span);
  for (const file of found.writes) if (!/^\/dev\/(stdout|stderr)$/.test(file)) ctx.write(asWord(file));
  for (const file of found.reads) ctx.read(asWord(file));
  if (found.writesUnknown) ctx.write(ctx.unknownWord('awk output file'));
  if (found.environment) ctx.envRead(ALL_VARIABLES);
}
