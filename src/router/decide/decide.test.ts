import { describe, expect, it } from 'vitest';
import { createPolicyEngine, loadPolicy } from '../../policy/index.ts';
import { thrownAirlockError } from '../../../test/support/airlock-errors.ts';
import { createApprovalGate, decide, rememberable } from './index.ts';

const engine = await createPolicyEngine({ policy: loadPolicy({ preset: 'coding-agent' }) });
const gate = createApprovalGate(['touch', 'write_file']);

describe('decide: approvalRequiredFor', () => {
  it('turns an allowed command it lists into an ask, with its own reason', () => {
    expect(engine.evaluate('touch a.txt').decision).toBe('allow');
    const verdict = decide({ engine, gate, remembered: new Set(), command: 'touch a.txt' });
    expect(verdict.value).toBe('ask');
    expect(verdict.decision.reasons.at(-1)).toBe(
      'router.approvalRequiredFor lists "touch": a person approves it first.',
    );
  });

  it('leaves commands it does not list, and never loosens a denial', () => {
    expect(decide({ engine, gate, remembered: new Set(), command: 'echo hi' }).value).toBe('allow');
    expect(decide({ engine, gate, remembered: new Set(), command: 'touch x; rm -rf /' }).value).toBe('deny');
  });

  it('lists no commands when only write_file is named, and refuses an empty entry as configuration', () => {
    expect(createApprovalGate(['write_file'])).toBeNull();
    expect(createApprovalGate([])).toBeNull();
    expect(() => createApprovalGate(['npm install', ''])).toThrow();
    const error = thrownAirlockError(() => createApprovalGate(['']));
    expect(error?.code).toBe('INVALID_CONFIG');
  });
});

describe('decide: remembered approvals', () => {
  it('runs a command a person approved for the session, literally, without asking again', () => {
    const remembered = new Set(['touch a.txt']);
    expect(decide({ engine, gate, remembered, command: 'touch a.txt' }).value).toBe('allow');
    expect(decide({ engine, gate, remembered, command: 'touch b.txt' }).value).toBe('ask');
    expect(decide({ engine, gate, remembered, command: 'touch a.txt; touch b.txt' }).value).toBe('ask');
  });

  it('never lets a remembered approval cover a hazard (an unparsable part)', () => {
    const command = 'touch a.txt; echo "unterminated';
    const decision = engine.evaluate(command);
    expect(decision.hazards.length).toBeGreaterThan(0);
    const remembered = new Set(decision.commands.map((verdict) => verdict.command));
    expect(decide({ engine, gate, remembered, command }).value).toBe('ask');
  });

  it('remembers only fully literal commands (adversarial: a variable may name something else later)', () => {
    const decision = engine.evaluate('touch "$TARGET"; touch fixed.txt');
    expect(rememberable(decision)).toEqual(['touch fixed.txt']);
  });
});
