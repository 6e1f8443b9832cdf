import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicyEngine, type PolicyEngine } from '../../src/policy/index.ts';
import { createCrossCheck, type CrossCheck } from '../../src/shell/index.ts';
import { treeSitterWasm } from './load-wasm.ts';

describe('tree-sitter-bash cross-check', () => {
  let check: CrossCheck;
  let engine: PolicyEngine;
  beforeAll(async () => {
    const wasm = await treeSitterWasm();
    check = await createCrossCheck(wasm);
    engine = await createPolicyEngine({ policy: { preset: 'coding-agent' }, treeSitter: wasm });
  });

  it('agrees on ordinary commands, including time, [ ] and assignments', () => {
    const commands = [
      'git status && npm test',
      'time make',
      '[ -f x ] && cat x',
      'CI=1 npx jest',
      'x=1; echo "$(ls)"',
    ];
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands)
      expect(check.check(command), command).toEqual({ agrees: true, detail: '' });
  });

  it('disagrees where one parser misreads the command, and the engine then never allows', () => {
    const misread = ['cat <<A <<B\nx\nA\ny\nB\nls', 'echo ${ ls; }', 'echo "$\\\n(ls)"'];
    for (const command of misread) {
      expect(check.check(command).agrees, command).toBe(false);
      expect(engine.evaluate(command).decision, command).not.toBe('allow');
    }
  });

  it('marks decisions as cross-checked', () => {
    expect(engine.evaluate('ls').crossChecked).toBe(true);
    expect(engine.evaluate('ls').decision).toBe('allow');
  });
});
