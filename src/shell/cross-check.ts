import { Language, Parser, type Node as TsNode } from 'web-tree-sitter';
import { parse } from 'unbash';
import { walkScript } from './walker.ts';

/** The wasm bytes the cross-check needs; reading them from disk is the caller's job. */
export interface CrossCheckOptions {
  /** tree-sitter-bash's grammar (`tree-sitter-bash/tree-sitter-bash.wasm`). */
  readonly grammarWasm: Uint8Array;
  /** web-tree-sitter's runtime (`web-tree-sitter/tree-sitter.wasm`). */
  readonly runtimeWasm: Uint8Array;
}

export interface CrossCheckResult {
  readonly agrees: boolean;
  readonly detail: string;
}

export interface CrossCheck {
  /** Do unbash and tree-sitter-bash find simple commands at the same offsets? */
  check(source: string): CrossCheckResult;
}

/** Node types that tree-sitter-bash uses for what unbash calls a named simple command. */
const COMMAND_TYPES = new Set(['command', 'declaration_command', 'unset_command']);

function treeSitterStarts(root: TsNode): { starts: Set<number>; error: boolean } {
  const starts = new Set<number>();
  const stack: TsNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as TsNode;
    if (COMMAND_TYPES.has(node.type)) {
      // A command node that is only assignments (`x=1 y=2`) has no name in unbash either.
      const name = node.type === 'command' ? node.childForFieldName('name') : null;
      if (name?.text === 'time') {
        // `time cmd` is a pipeline prefix for unbash, a command named time for tree-sitter.
        const next = name.nextNamedSibling;
        if (next) starts.add(next.startIndex);
      } else if (node.type !== 'command' || name !== null) starts.add(node.startIndex);
    } else if (node.type === 'test_command' && node.text.startsWith('[') && !node.text.startsWith('[[')) {
      starts.add(node.startIndex); // `[ … ]` is a simple command (the `[` builtin) for unbash
    }
    for (const child of node.namedChildren) if (child) stack.push(child);
  }
  return { starts, error: root.hasError };
}

function unbashStarts(source: string): Set<number> {
  const walked = walkScript(parse(source), source);
  const starts = new Set<number>();
  for (const item of walked.items) {
    if (item.kind === 'command' && item.words.length > 0) starts.add(item.span.start);
  }
  return starts;
}

/**
 * Loads tree-sitter-bash (async: wasm) and returns a synchronous checker. Where the two parsers
 * disagree on where simple commands start, one of them misreads the command and the policy must not
 * allow it; tree-sitter's own ERROR/MISSING nodes count as disagreement too.
 */
export async function createCrossCheck(options: CrossCheckOptions): Promise<CrossCheck> {
  await Parser.init({ wasmBinary: options.runtimeWasm });
  const language = await Language.load(options.grammarWasm);
  const parser = new Parser();
  parser.setLanguage(language);
  return {
    check(source: string): CrossCheckResult {
      const tree = parser.parse(source);
      if (!tree) return { agrees: false, detail: 'tree-sitter-bash could not parse the command' };
      try {
        const ts = treeSitterStarts(tree.rootNode);
        if (ts.error) return { agrees: false, detail: 'tree-sitter-bash found a syntax error' };
        const ub = unbashStarts(source);
        const onlyTs = [...ts.starts].filter((s) => !ub.has(s));
        const onlyUb = [...ub].filter((s) => !ts.starts.has(s));
        if (onlyTs.length === 0 && onlyUb.length === 0) return { agrees: true, detail: '' };
        const at = [...onlyTs, ...onlyUb].sort((a, b) => a - b)[0] ?? 0;
        return {
          agrees: false,
          detail: `the two shell parsers disagree on where commands start (near offset ${at})`,
        };
      } finally {
        tree.delete();
      }
    },
  };
}

/*
 * Security limitations
 * - The cross-check compares where simple commands start, not their words; two parsers that agree
 *   on structure but disagree on a word's value are not caught here (quote removal is unbash's).
 * - Commands inside escaped backticks are mapped to the outer word by unbash, so they may show up as
 *   a disagreement; that only makes the decision stricter.
 */
