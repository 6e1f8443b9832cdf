/**
 * A tiny shell language for the in-memory sandbox: simple commands joined by `;`, `&&`, `||` and
 * newlines, words in single or double quotes, `$NAME`, `${NAME}`, `${NAME:-default}`, `$?`, and the
 * redirections `>`, `>>`, `<`, `2>`, `>&2`, `2>&1`. Anything else (pipes, `&`, substitutions,
 * subshells) is refused as unsupported syntax, with exit status 2, so a test that needs more fails
 * loudly instead of being misread.
 */

export type Part =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'var'; readonly name: string; readonly fallback: Word | null };
export type Word = readonly Part[];

export interface Redirect {
  readonly fd: 0 | 1 | 2;
  readonly mode: 'write' | 'append' | 'read' | 'dup';
  /** A file for write/append/read; the fd copied for dup. */
  readonly target: Word | 1 | 2;
}

export interface SimpleCommand {
  readonly words: readonly Word[];
  readonly redirects: readonly Redirect[];
}

export type Connector = ';' | '&&' | '||';

export interface ListItem {
  readonly command: SimpleCommand;
  /** How the next item depends on this one; null for the last. */
  readonly next: Connector | null;
}

export class UnsupportedSyntax extends Error {}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

export function parseScript(source: string): ListItem[] {
  return new Parser(source).parse();
}

/** Expands a word against the environment; there is no field splitting or globbing. */
export function expand(word: Word, env: Readonly<Record<string, string>>): string {
  return word
    .map((part) => {
      if (part.kind === 'text') return part.text;
      const value = env[part.name];
      if ((value === undefined || value === '') && part.fallback !== null) return expand(part.fallback, env);
      return value ?? '';
    })
    .join('');
}

class Parser {
  readonly #source: string;
  #at = 0;
  readonly #items: ListItem[] = [];
  #words: Word[] = [];
  #redirects: Redirect[] = [];

  constructor(source: string) {
    this.#source = source;
  }

  parse(): ListItem[] {
    while (this.#at < this.#source.length) {
      const char = this.#source[this.#at] as string;
      if (char === ' ' || char === '\t') {
        this.#at += 1;
      } else if (char === '\n' || char === ';') {
        this.#at += 1;
        this.#end(';');
      } else if (char === '&' || char === '|') {
        if (this.#source[this.#at + 1] !== char) {
          throw new UnsupportedSyntax(char === '|' ? 'pipes' : 'background jobs');
        }
        this.#at += 2;
        this.#end(char === '&' ? '&&' : '||');
      } else if (char === '#') {
        while (this.#at < this.#source.length && this.#source[this.#at] !== '\n') this.#at += 1;
      } else if (char === '(' || char === ')' || char === '`') {
        throw new UnsupportedSyntax(`"${char}"`);
      } else if (!this.#redirect()) {
        this.#words.push(this.#word());
      }
    }
    this.#end(null);
    const last = this.#items.at(-1);
    if (last !== undefined && last.next !== null && last.next !== ';') {
      throw new UnsupportedSyntax(`a list ending in "${last.next}"`);
    }
    return this.#items;
  }

  #end(connector: Connector | null): void {
    if (this.#words.length === 0) {
      if (this.#redirects.length > 0) throw new UnsupportedSyntax('a redirection without a command');
      if (connector === '&&' || connector === '||') throw new UnsupportedSyntax(`"${connector}" first`);
      return;
    }
    this.#items.push({ command: { words: this.#words, redirects: this.#redirects }, next: connector });
    this.#words = [];
    this.#redirects = [];
  }

  /** `[n]>`, `[n]>>`, `[n]<`, `[n]>&m` at the current position; false when there is none. */
  #redirect(): boolean {
    const match = /^([012]?)(>>|>&|>|<)/.exec(this.#source.slice(this.#at));
    if (match === null) return false;
    const [whole, digit, op] = match as unknown as [string, string, string];
    const fd = (digit === '' ? (op === '<' ? 0 : 1) : Number(digit)) as 0 | 1 | 2;
    this.#at += whole.length;
    while (this.#source[this.#at] === ' ') this.#at += 1;
    if (op === '>&') {
      const target = this.#source[this.#at];
      if (target !== '1' && target !== '2') throw new UnsupportedSyntax(`>&${target ?? ''}`);
      this.#at += 1;
      this.#redirects.push({ fd, mode: 'dup', target: Number(target) as 1 | 2 });
      return true;
    }
    const mode = op === '>>' ? 'append' : op === '<' ? 'read' : 'write';
    this.#redirects.push({ fd, mode, target: this.#word() });
    return true;
  }

  #word(): Word {
    const parts: Part[] = [];
    const text = (value: string): void => {
      const last = parts.at(-1);
      if (last?.kind === 'text') parts[parts.length - 1] = { kind: 'text', text: last.text + value };
      else parts.push({ kind: 'text', text: value });
    };
    while (this.#at < this.#source.length) {
      const char = this.#source[this.#at] as string;
      if (' \t\n;&|<>()`'.includes(char)) break;
      this.#at += 1;
      if (char === "'") {
        const close = this.#source.indexOf("'", this.#at);
        if (close === -1) throw new UnsupportedSyntax('an unterminated quote');
        text(this.#source.slice(this.#at, close));
        this.#at = close + 1;
      } else if (char === '"') {
        this.#doubleQuoted(parts, text);
      } else if (char === '\\') {
        const next = this.#source[this.#at];
        this.#at += 1;
        if (next !== undefined && next !== '\n') text(next);
      } else if (char === '$') {
        this.#dollar(parts, text);
      } else {
        text(char);
      }
    }
    if (parts.length === 0) throw new UnsupportedSyntax('an empty word');
    return parts;
  }

  #doubleQuoted(parts: Part[], text: (value: string) => void): void {
    // An empty "" is still a word.
    text('');
    for (;;) {
      const char = this.#source[this.#at];
      if (char === undefined) throw new UnsupportedSyntax('an unterminated quote');
      this.#at += 1;
      if (char === '"') return;
      if (char === '`') throw new UnsupportedSyntax('"`"');
      if (char === '\\' && '"\\$`'.includes(this.#source[this.#at] ?? '')) {
        text(this.#source[this.#at] as string);
        this.#at += 1;
      } else if (char === '$') {
        this.#dollar(parts, text);
      } else {
        text(char);
      }
    }
  }

  #dollar(parts: Part[], text: (value: string) => void): void {
    const next = this.#source[this.#at] ?? '';
    if (next === '(') throw new UnsupportedSyntax('"$(" substitutions');
    if (next === '{') {
      const close = this.#source.indexOf('}', this.#at);
      if (close === -1) throw new UnsupportedSyntax('an unterminated ${');
      const inner = this.#source.slice(this.#at + 1, close);
      this.#at = close + 1;
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(inner);
      if (match === null) throw new UnsupportedSyntax(`\${${inner}}`);
      const fallback = match[2] === undefined ? null : [{ kind: 'text' as const, text: match[2] }];
      parts.push({ kind: 'var', name: match[1] as string, fallback });
      return;
    }
    if (next === '?') {
      this.#at += 1;
      parts.push({ kind: 'var', name: '?', fallback: null });
      return;
    }
    if (!NAME_START.test(next)) {
      text('$');
      return;
    }
    let end = this.#at;
    while (end < this.#source.length && NAME_CHAR.test(this.#source[end] as string)) end += 1;
    parts.push({ kind: 'var', name: this.#source.slice(this.#at, end), fallback: null });
    this.#at = end;
  }
}
