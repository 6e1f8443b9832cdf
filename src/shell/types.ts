/** Half-open UTF-16 offsets `[start, end)` into the command text the caller passed in. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * A word after quote removal. `literal` words have a known value; `pattern` is the same text written
 * as a glob (quoted metacharacters escaped with `\`) and `glob` says whether unquoted wildcards remain,
 * i.e. whether the shell would expand it to file names. `dynamic` words depend on run-time values.
 */
export type WordValue =
  | {
      readonly kind: 'literal';
      readonly value: string;
      readonly pattern: string;
      readonly glob: boolean;
      readonly span: Span;
      /** Stands for any path at or below `value` (what `find -exec … {}` passes). */
      readonly below?: boolean;
      /** With `below`: only entries whose name matches this glob. */
      readonly belowName?: string;
    }
  | {
      readonly kind: 'dynamic';
      readonly text: string;
      /** An unquoted expansion may split into several words (argument injection). */
      readonly split: boolean;
      readonly span: Span;
      /**
       * The word as a glob in which each run-time part is `**` (`${d}/.ssh/id_rsa` → `**\/.ssh/id_rsa`),
       * when some part of it is literal.
       */
      readonly pattern?: string;
      /** The whole word is the output of a command that lists the workspace's files (`$(git ls-files)`). */
      readonly listing?: boolean;
      /** The whole word is one path a listing prints (`$(find ROOT -name NAME)`). */
      readonly shape?: ListingShape;
      /**
       * Every run-time part is a plain expansion of one of these variables (`$X`, `"${X}"`,
       * `${X:-lit}`). When the command never assigns them, their values are the session's own.
       */
      readonly variables?: readonly string[];
    };

/** Where the paths a listing command prints lie: at or below `root`, named `name` when given. */
export interface ListingShape {
  readonly root: string;
  readonly name?: string;
}

/** Why the analysis could not see everything; each one keeps a decision from being allow. */
export type HazardCode =
  | 'parse-error'
  | 'parser-disagreement'
  | 'dynamic-command-name'
  | 'assignment-prefix'
  | 'control-character'
  | 'limit-exceeded'
  | 'line-continuation'
  | 'unseen-code'
  | 'opaque-option'
  | 'argument-injection'
  | 'prompt-expansion'
  | 'arithmetic-indirection'
  | 'unknown-directory'
  | 'privilege'
  /** A shell or program run through another tool's escape hatch (`find -exec sh`, `awk system()`). */
  | 'escape-hatch'
  /** A shell wired to a network peer (`nc -e`, `socat exec:`, `/inet/tcp`). */
  | 'reverse-shell'
  /** A raw disk or memory device written (`dd of=/dev/sda`). */
  | 'raw-device';

export interface Hazard {
  readonly code: HazardCode;
  readonly detail: string;
  readonly span: Span;
  /** The least strict decision this hazard permits; `deny` for display attacks. */
  readonly floor: 'ask' | 'deny';
  /** Raised only by values the session's environment fixes (variables the command never assigns). */
  readonly sessionValue?: boolean;
}

/**
 * A path as the policy sees it: `pattern` is canonical (`./rel` inside the workspace, `../x` above it,
 * `~/x` in the home directory, `/abs` elsewhere) and written as a glob with metacharacters escaped;
 * `null` when it cannot be known before running (a variable, a substitution, an unknown directory).
 */
export interface PathRef {
  readonly pattern: string | null;
  readonly text: string;
  /** Everything below `pattern` too (`rm -r`, `cp -r`, `find`, `tar x`). */
  readonly recursive?: boolean;
  /** With `recursive`: only entries whose name matches this glob (`find ROOT -name NAME`). */
  readonly name?: string;
  /** With `recursive`: hidden files and directories are skipped (ripgrep's default). */
  readonly skipsHidden?: boolean;
  /** With `recursive`: only names below are listed, no contents are read (`find ROOT -name x`). */
  readonly namesOnly?: boolean;
  /** Unknown, but a listing of the workspace's own files (see WordValue). */
  readonly listing?: boolean;
  /**
   * The run-time parts are variables the command never assigns: their values are fixed by the
   * session's environment, not chosen by the command.
   */
  readonly sessionValue?: boolean;
}

/** The name an `env-read` effect carries when every variable is read (`env`, `set`, `declare -p`). */
export const ALL_VARIABLES = '(all)';

export type CodeVia = 'inline' | 'stdin' | 'file' | 'unknown';

export type Effect =
  | {
      readonly kind: 'exec';
      readonly program: string;
      /** argv[0] is `program`; `null` stands for a word only known at run time. */
      readonly argv: readonly (string | null)[];
      readonly span: Span;
    }
  | { readonly kind: 'read'; readonly path: PathRef; readonly span: Span }
  | { readonly kind: 'write'; readonly path: PathRef; readonly span: Span }
  | { readonly kind: 'delete'; readonly path: PathRef; readonly span: Span }
  | { readonly kind: 'net'; readonly host: string | null; readonly span: Span }
  | { readonly kind: 'env-change'; readonly name: string; readonly span: Span }
  | { readonly kind: 'env-read'; readonly name: string; readonly span: Span }
  | { readonly kind: 'state-change'; readonly what: string; readonly span: Span }
  | {
      readonly kind: 'code';
      readonly lang: string;
      readonly via: CodeVia;
      readonly source: string | null;
      readonly span: Span;
    }
  | { readonly kind: 'hazard'; readonly hazard: Hazard; readonly span: Span };

export type EffectKind = Effect['kind'];

/** One simple command after unwrapping, with everything it would do. */
export interface CommandAnalysis {
  /** Display form of the resolved argv (quote-removed, unknown words shown as written). */
  readonly display: string;
  readonly program: string | null;
  readonly span: Span;
  readonly effects: readonly Effect[];
}

export interface ShellAnalysis {
  readonly source: string;
  readonly commands: readonly CommandAnalysis[];
  /** Hazards that belong to no single command (parse errors, limits, control characters). */
  readonly hazards: readonly Hazard[];
}
