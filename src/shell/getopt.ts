import type { WordValue } from './types.ts';

/**
 * What an option's value does when the program runs:
 * - `read`/`write`/`delete`: the value is a path.
 * - `shell`: the value is a shell command line (run via `sh -c`).
 * - `program`: the value names a program the tool runs with arguments we cannot see.
 * - `opaque`: the option changes behaviour in a way we do not model (never allow).
 * - `net`: the value is a host or URL.
 */
export type OptionEffect = 'none' | 'read' | 'write' | 'delete' | 'shell' | 'program' | 'opaque' | 'net';

export interface OptionDef {
  /** `-o`, `--output`; single-dash long names (`-exec`) are not getopt options and are not listed here. */
  readonly names: readonly string[];
  readonly arg: 'none' | 'required' | 'optional';
  readonly effect?: OptionEffect;
  /** Everything after this option (and its value) belongs to something else (`python -m mod …`). */
  readonly ends?: boolean;
}

export interface Grammar {
  readonly options: readonly OptionDef[];
  /** POSIX utilities and wrappers stop at the first operand; GNU tools accept options after operands. */
  readonly stopAtOperand?: boolean;
  /** GNU getopt_long accepts any unambiguous prefix of a long option (`--compress-prog`). */
  readonly abbreviations?: boolean;
  /**
   * What an option the table does not list means. `harmless`: the tool rejects it or it only changes
   * output. `opaque`: it might do anything (the decision is then not allow).
   */
  readonly unknown: 'harmless' | 'opaque';
  /** Set by `grammar()`. */
  readonly index?: GrammarIndex;
}

export interface ParsedOption {
  /** The canonical name: the def's first name, or the word as written when unknown. */
  readonly name: string;
  readonly def: OptionDef | null;
  readonly value: WordValue | null;
  readonly word: WordValue;
}

export interface ParsedArgs {
  readonly options: readonly ParsedOption[];
  readonly operands: readonly WordValue[];
  /** Words we cannot read at all (unquoted expansions) where an option might be: they may inject options. */
  readonly injected: readonly WordValue[];
  /** Long options that match several listed options by prefix; each candidate's effect is assumed. */
  readonly unknown: readonly ParsedOption[];
}

/** The option table indexed by name; built once per grammar by `grammar()`, or per call for ad-hoc grammars. */
interface GrammarIndex {
  readonly byName: ReadonlyMap<string, OptionDef>;
  readonly longNames: readonly string[];
}

function buildIndex(options: readonly OptionDef[]): GrammarIndex {
  const byName = new Map<string, OptionDef>();
  for (const def of options) for (const name of def.names) byName.set(name, def);
  return { byName, longNames: [...byName.keys()].filter((n) => n.startsWith('--')) };
}

/** Defines a grammar with its index built now, for grammars that live as module constants. */
export function grammar(definition: Grammar): Grammar {
  return Object.freeze({ ...definition, index: buildIndex(definition.options) });
}

function literalText(word: WordValue): string | null {
  return word.kind === 'literal' ? word.value : null;
}

function sliceValue(word: WordValue, from: number): WordValue {
  if (word.kind !== 'literal') return word;
  const value = word.value.slice(from);
  return { kind: 'literal', value, pattern: value, glob: false, span: word.span };
}

/** Parses argv (without the program name) by a getopt-style grammar. */
export function parseArgs(words: readonly WordValue[], grammar: Grammar): ParsedArgs {
  const g = grammar.index ?? buildIndex(grammar.options);
  const options: ParsedOption[] = [];
  const operands: WordValue[] = [];
  const injected: WordValue[] = [];
  const unknown: ParsedOption[] = [];
  let i = 0;
  let onlyOperands = false;
  while (i < words.length) {
    const word = words[i] as WordValue;
    i++;
    if (onlyOperands) {
      operands.push(word);
      continue;
    }
    const text = literalText(word);
    if (text === null) {
      // `"$x"` is one word but may still start with `-`; an unquoted `$x` may be several.
      injected.push(word);
      operands.push(word);
      continue;
    }
    if (text === '--') {
      onlyOperands = true;
      continue;
    }
    if (text.startsWith('--')) {
      const eq = text.indexOf('=');
      const name = eq < 0 ? text : text.slice(0, eq);
      let defs: OptionDef[] = [];
      const exact = g.byName.get(name);
      if (exact) defs = [exact];
      else if (grammar.abbreviations) {
        defs = g.longNames.filter((n) => n.startsWith(name)).map((n) => g.byName.get(n) as OptionDef);
        defs = [...new Set(defs)];
      }
      const attached = eq < 0 ? null : sliceValue(word, eq + 1);
      if (defs.length !== 1) {
        const parsed: ParsedOption = { name, def: null, value: attached, word };
        options.push(parsed);
        if (defs.length > 1) {
          // Ambiguous prefix: assume it is whichever candidate does the most.
          for (const def of defs) {
            let value = attached;
            if (value === null && def.arg === 'required') value = words[i] ?? null;
            options.push({ name: def.names[0] as string, def, value, word });
          }
          if (attached === null && defs.some((d) => d.arg === 'required')) i++;
        } else unknown.push(parsed);
        continue;
      }
      const def = defs[0] as OptionDef;
      let value = attached;
      if (value === null && def.arg === 'required') {
        value = words[i] ?? null;
        i++;
      }
      options.push({ name: def.names[0] as string, def, value, word });
      if (def.ends) onlyOperands = true;
      continue;
    }
    if (text.startsWith('-') && text.length > 1) {
      for (let k = 1; k < text.length; k++) {
        const flag = `-${text[k] as string}`;
        const def = g.byName.get(flag);
        if (!def) {
          const parsed: ParsedOption = { name: flag, def: null, value: null, word };
          options.push(parsed);
          unknown.push(parsed);
          continue;
        }
        if (def.arg === 'none') {
          options.push({ name: def.names[0] as string, def, value: null, word });
          continue;
        }
        let value: WordValue | null = k + 1 < text.length ? sliceValue(word, k + 1) : null;
        if (value === null && def.arg === 'required') {
          value = words[i] ?? null;
          i++;
        }
        options.push({ name: def.names[0] as string, def, value, word });
        if (def.ends) onlyOperands = true;
        break;
      }
      continue;
    }
    operands.push(word);
    if (grammar.stopAtOperand) onlyOperands = true;
  }
  return { options, operands, injected, unknown };
}

/** Shorthand for option tables: `opt('-o', '--output', 'required', 'write')`. */
export function opt(
  names: string | readonly string[],
  arg: OptionDef['arg'] = 'none',
  effect: OptionEffect = 'none',
  ends = false,
): OptionDef {
  return { names: typeof names === 'string' ? [names] : names, arg, effect, ends };
}

/** Many flags that take no value and do nothing dangerous. */
export function flags(...names: string[]): OptionDef[] {
  return names.map((name) => ({ names: [name], arg: 'none' as const, effect: 'none' as const }));
}

/** Many options that take a value and do nothing dangerous. */
export function valued(...names: string[]): OptionDef[] {
  return names.map((name) => ({ names: [name], arg: 'required' as const, effect: 'none' as const }));
}
