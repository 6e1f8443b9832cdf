/**
 * The shell stage: command text → AST (unbash, cross-checked by tree-sitter-bash) → simple commands →
 * typed effects. Pure: no I/O, no clock. The tree-sitter grammar is loaded by the caller (bytes in).
 */
export { analyzeShell, displayWords, programIdentity } from './analyze.ts';
export { escapeForDisplay, scanControlCharacters } from './control.ts';
export { globsIntersect, globSubsumes, globToRegExp, hasWildcards, tokenizeGlob } from './glob.ts';
export type { GlobToken } from './glob.ts';
export { MAX_COMMAND_LENGTH, MAX_NESTING_DEPTH, MAX_SIMPLE_COMMANDS } from './limits.ts';
export { scanSedScript, awkProgramIsPlain } from './programs/sed-awk.ts';
export { parseArgs } from './getopt.ts';
export type { Grammar, OptionDef, ParsedArgs } from './getopt.ts';
export { createCrossCheck, type CrossCheck, type CrossCheckOptions } from './cross-check.ts';
export { cheapWords } from './cheap.ts';
export type {
  CodeVia,
  CommandAnalysis,
  Effect,
  EffectKind,
  Hazard,
  HazardCode,
  PathRef,
  ShellAnalysis,
  Span,
  WordValue,
} from './types.ts';
export { resolvePathPattern } from './paths.ts';
export { escapeGlob } from './words.ts';
