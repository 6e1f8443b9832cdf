import { lit, type Model } from '../model.ts';
import type { WordValue } from '../types.ts';
import { shellEscapeHatch } from './escape-hatch.ts';

/** Predicates that take one argument and only test or print. */
const ONE_ARG = new Set([
  '-name',
  '-iname',
  '-path',
  '-ipath',
  '-wholename',
  '-iwholename',
  '-regex',
  '-iregex',
  '-lname',
  '-ilname',
  '-type',
  '-xtype',
  '-size',
  '-mtime',
  '-mmin',
  '-atime',
  '-amin',
  '-ctime',
  '-cmin',
  '-perm',
  '-user',
  '-group',
  '-uid',
  '-gid',
  '-links',
  '-inum',
  '-maxdepth',
  '-mindepth',
  '-used',
  '-fstype',
  '-context',
  '-printf',
  '-regextype',
  '-newer',
  '-anewer',
  '-cnewer',
  '-samefile',
]);
const NO_ARG = new Set([
  '-print',
  '-print0',
  '-ls',
  '-prune',
  '-quit',
  '-true',
  '-false',
  '-depth',
  '-d',
  '-mount',
  '-xdev',
  '-noleaf',
  '-follow',
  '-warn',
  '-nowarn',
  '-daystart',
  '-ignore_readdir_race',
  '-noignore_readdir_race',
  '-empty',
  '-readable',
  '-writable',
  '-executable',
  '-nouser',
  '-nogroup',
  '-not',
  '!',
  '(',
  ')',
  '-a',
  '-and',
  '-o',
  '-or',
  ',',
  '-P',
  '-H',
  '-L',
]);
const WRITES_ONE = new Set(['-fprint', '-fprint0', '-fls']);

/**
 * find: starting points, then an expression. `-exec`/`-execdir`/`-ok`/`-okdir` run a command in which
 * `{}` is a found path (unknown here); `-delete` deletes below every starting point; `-fprint*` write.
 */
export const find: Model = (ctx, args) => {
  let i = 0;
  while (i < args.length && /^-(H|L|P|D|O\d*)$/.test(lit(args[i]) ?? '')) {
    if (lit(args[i]) === '-D') i++;
    i++;
  }
  const starts: WordValue[] = [];
  for (; i < args.length; i++) {
    const text = lit(args[i]);
    if (text !== null && (text.startsWith('-') || text === '(' || text === '!')) break;
    starts.push(args[i] as WordValue);
  }
  const roots =
    starts.length > 0
      ? starts
      : [{ kind: 'literal', value: '.', pattern: '.', glob: false, span: ctx.span } as WordValue];
  // find lists names below its roots; contents are read only by what -exec runs (judged on its own).
  for (const root of roots) ctx.pathEffect('read', root, '**', { namesOnly: true });
  // `{}` in -exec: narrowed by one plain `-name PATTERN` before it, else any path below the root.
  const names: (WordValue | undefined)[] = [];
  let alternatives = false;
  const start = i;
  for (let k = start; k < args.length; k++) {
    const t = lit(args[k]);
    if (t === '-exec' || t === '-execdir' || t === '-ok' || t === '-okdir') break;
    if (t === '-name') names.push(args[k + 1]);
    if (t !== null && /^(-o|-or|!|-not|,)$/.test(t)) alternatives = true;
  }
  const only = names.length === 1 && !alternatives ? lit(names[0]) : null;
  for (; i < args.length; i++) {
    const word = args[i] as WordValue;
    const text = lit(word);
    if (text === null) {
      ctx.hazard('argument-injection', 'a run-time value in a find expression may add -exec or -delete');
      continue;
    }
    if (NO_ARG.has(text)) continue;
    if (ONE_ARG.has(text) || /^-newer[aBcmt][aBcmt]$/.test(text)) {
      i++;
      continue;
    }
    if (text === '-fprintf') {
      const file = args[i + 1];
      if (file) ctx.write(file);
      i += 2;
      continue;
    }
    if (WRITES_ONE.has(text)) {
      const file = args[i + 1];
      if (file) ctx.write(file);
      i++;
      continue;
    }
    if (text === '-files0-from') {
      const file = args[i + 1];
      if (file) ctx.read(file);
      i++;
      continue;
    }
    if (text === '-delete') {
      // Only a -name before -delete narrows it: `find . -delete -name x` deletes everything.
      const before = args.slice(start, i).map(lit);
      const narrowed = before.includes('-name') ? only : null;
      const found = foundPath('{}', roots, narrowed, ctx);
      if (found.kind === 'literal' && found.belowName !== undefined) ctx.remove(found);
      else
        for (const root of roots) {
          ctx.remove(root);
          ctx.pathEffect('delete', root, '**');
        }
      continue;
    }
    if (text === '-exec' || text === '-execdir' || text === '-ok' || text === '-okdir') {
      const command: WordValue[] = [];
      const raw: WordValue[] = [];
      i++;
      for (; i < args.length; i++) {
        const t = lit(args[i]);
        if (t === ';' || t === '+') break;
        raw.push(args[i] as WordValue);
        // `{}` is each found path: below a starting point, but which one only find knows.
        command.push(
          t !== null && t.includes('{}') ? foundPath(t, roots, only, ctx) : (args[i] as WordValue),
        );
      }
      if (command.length > 0 && !shellEscapeHatch(ctx, raw, '{}', `find ${text}`))
        ctx.run(command, 'terminal');
      continue;
    }
    ctx.hazard('opaque-option', `find ${text} is not modelled`);
  }
};

/**
 * What `{}` stands for: a path at or below the starting point. With one literal starting point it
 * is that path "and below"; otherwise (several roots, `{}` inside a longer word) it is unknown.
 */
function foundPath(
  text: string,
  roots: readonly WordValue[],
  name: string | null,
  ctx: { unknownWord(text: string): WordValue },
): WordValue {
  const root = roots.length === 1 ? roots[0] : undefined;
  if (text !== '{}' || root?.kind !== 'literal' || root.glob || root.value.startsWith('-'))
    return ctx.unknownWord(text);
  // find's -name `*` also matches dot files: write it as the analysis' "any characters" `**`.
  if (name === null) return { ...root, below: true };
  const belowName = name.replace(/\\(.)|(\*)|(\?)/g, (m, escaped: string | undefined, star, question) =>
    escaped !== undefined ? `\\${escaped}` : star ? '**' : question ? '[!/]' : m,
  );
  return { ...root, below: true, belowName };
}
