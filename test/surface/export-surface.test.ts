/**
 * The public surfaces, as their users import them: `src/index.ts` (the library), `src/sandbox/index.ts`
 * (the drivers alone), `src/sdk/index.ts` (the HTTP client) and `src/sdk-node/index.ts` (its local
 * directory forms). Each name a module exports, value or
 * type, is in a snapshot: adding one, removing one or turning a type into a value shows up in review
 * as a change to this file, so nothing becomes (or stops being) public by accident.
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const entries = [
  'src/index.ts',
  'src/sandbox/index.ts',
  'src/sdk/index.ts',
  'src/sdk-node/index.ts',
] as const;

const root = fileURLToPath(new URL('../../', import.meta.url));
const parsed = ts.getParsedCommandLineOfConfigFile(
  `${root}tsconfig.json`,
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  },
);
if (parsed === undefined) throw new Error('tsconfig.json could not be read');
const program = ts.createProgram(
  entries.map((entry) => `${root}${entry}`),
  parsed.options,
);
const checker = program.getTypeChecker();

/** `name: value`, `name: type` or `name: value+type`, sorted. */
function surfaceOf(entry: string): string[] {
  const source = program.getSourceFile(`${root}${entry}`);
  if (source === undefined) throw new Error(`${entry} is not in the program`);
  const module = checker.getSymbolAtLocation(source);
  if (module === undefined) throw new Error(`${entry} is not a module`);
  return checker
    .getExportsOfModule(module)
    .map((symbol) => {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      const isValue = (target.flags & ts.SymbolFlags.Value) !== 0;
      const isType = (target.flags & ts.SymbolFlags.Type) !== 0;
      const kind = isValue && isType ? 'value+type' : isValue ? 'value' : 'type';
      return `${symbol.name}: ${kind}`;
    })
    .sort();
}

describe('public export surfaces', () => {
  it('src/index.ts', () => {
    expect(surfaceOf('src/index.ts')).toMatchSnapshot();
  });

  it('src/sandbox/index.ts', () => {
    expect(surfaceOf('src/sandbox/index.ts')).toMatchSnapshot();
  });

  it('src/sdk/index.ts', () => {
    expect(surfaceOf('src/sdk/index.ts')).toMatchSnapshot();
  });

  it('src/sdk-node/index.ts', () => {
    expect(surfaceOf('src/sdk-node/index.ts')).toMatchSnapshot();
  });

  it('exports at run time exactly the values the snapshot lists', async () => {
    for (const entry of entries) {
      const loaded = Object.keys((await import(`${root}${entry}`)) as object).sort();
      const values = surfaceOf(entry)
        .filter((line) => line.endsWith(': value') || line.endsWith(': value+type'))
        .map((line) => line.slice(0, line.indexOf(':')));
      expect(loaded, entry).toEqual(values);
    }
  });
});
