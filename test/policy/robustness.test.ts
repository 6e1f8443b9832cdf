import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicyEngine, type PolicyEngine } from '../../src/policy/index.ts';
import { treeSitterWasm } from './load-wasm.ts';

/** Shell fragments that stress every part of the grammar when glued together at random. */
const fragments = [
  'ls',
  'rm',
  '-rf',
  '/',
  '$(',
  ')',
  '`',
  '"',
  "'",
  '|',
  '&&',
  '||',
  ';',
  '&',
  '<(',
  '>(',
  '<<EOF\nx\nEOF\n',
  '${',
  '}',
  '[[',
  ']]',
  '((',
  '))',
  '$((1+2))',
  'a=b',
  'x[$(id)]=1',
  'f() { id; }',
  '\\',
  '\n',
  '*',
  '?',
  '{a,b}',
  '~',
  '$HOME',
  'sh -c',
  'find . -exec',
  '{}',
  '\\;',
  'xargs',
  'env -S',
  'eval',
  '!',
  'case x in x) id;; esac',
  'for i in 1; do',
  'done',
  'if',
  'then',
  'fi',
  '>',
  '>>',
  '2>&1',
  '<',
  "$'\\x41'",
  '#',
  'coproc',
  'time',
  'function',
  '(',
  '\u202e',
  '\r',
  '\u0000',
];

describe('policy engine on arbitrary input (adversarial)', () => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    engine = await createPolicyEngine({
      policy: { preset: 'coding-agent' },
      treeSitter: await treeSitterWasm(),
    });
  });

  const decides = (command: string): boolean => {
    const { decision } = engine.evaluate(command);
    return decision === 'allow' || decision === 'ask' || decision === 'deny';
  };

  it('has fragments to combine', () => expect(fragments.length).toBeGreaterThan(20));

  it('decides every random splice of shell syntax without throwing', () => {
    const spliced = fc
      .array(fc.constantFrom(...fragments), { maxLength: 25 })
      .map((parts) => parts.join(' '));
    fc.assert(fc.property(spliced, decides), { numRuns: 3000 });
  });

  it('decides arbitrary strings, including invalid UTF-16 and control characters, without throwing', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), decides), { numRuns: 3000 });
  });
});
