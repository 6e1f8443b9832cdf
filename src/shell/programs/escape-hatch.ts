import { lit, type ModelContext } from '../model.ts';
import type { WordValue } from '../types.ts';

/** Names under which a shell runs. */
export const SHELLS = new Set([
  'sh',
  'bash',
  'zsh',
  'dash',
  'ksh',
  'ash',
  'mksh',
  'yash',
  'fish',
  'csh',
  'tcsh',
  'rbash',
]);

function baseName(word: WordValue | undefined): string | null {
  const text = lit(word);
  return text === null ? null : (text.split('/').at(-1) ?? null);
}

/**
 * A shell run by another tool (`find -exec`, `xargs`) is an escape hatch when what it runs is not
 * shown: script files found at run time (`find -exec sh {}`), or a `-c` script into which the tool
 * pastes text it found (`xargs -I{} sh -c 'echo {}'`), which makes file names code. A `-c` script
 * that takes the text as "$1" is shown in full and judged like any other. Returns whether it refused.
 */
export function shellEscapeHatch(
  ctx: ModelContext,
  command: readonly WordValue[],
  placeholder: string | null,
  tool: string,
): boolean {
  if (!SHELLS.has(baseName(command[0]) ?? '')) return false;
  const flags = command.slice(1).findIndex((w) => !/^[-+][a-zA-Z]+$/.test(lit(w) ?? ''));
  const options = command.slice(1, flags < 0 ? undefined : flags + 1).map((w) => lit(w) ?? '');
  const hasC = options.some((o) => o.startsWith('-') && o.includes('c'));
  if (!hasC) {
    ctx.hazard('escape-hatch', `${tool} runs a shell on scripts it finds at run time`, 'deny');
    return true;
  }
  const script = command.slice(1).find((w) => !/^[-+][a-zA-Z]+$/.test(lit(w) ?? ''));
  const text = script === undefined ? null : script.kind === 'literal' ? script.value : null;
  if (text === null || (placeholder !== null && text.includes(placeholder))) {
    ctx.hazard(
      'escape-hatch',
      `${tool} pastes text it finds at run time into a shell script (use "$1" and pass it as an argument)`,
      'deny',
    );
    return true;
  }
  return false;
}

export { programOption } from '../model.ts';
