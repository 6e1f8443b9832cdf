import { describe, expect, it } from 'vitest';
import { createPolicyEngine, DEFAULT_CAPABILITIES, loadPolicy } from '../../policy/index.ts';
import type { SessionCapabilities } from '../../policy/index.ts';
import { decide, offeredGrants, rememberable } from './index.ts';
import type { SessionGrants } from './index.ts';

const engine = await createPolicyEngine({
  policy: loadPolicy({ preset: 'coding-agent' }),
  approvalRequiredFor: ['touch', 'write_file'],
});
const capabilities = DEFAULT_CAPABILITIES;
const none: SessionGrants = { commands: new Set(), programs: new Set() };
const judge = (command: string, grants: SessionGrants = none, caps: SessionCapabilities = capabilities) =>
  decide({ engine, capabilities: caps, grants, command });

describe('decide: approvalRequiredFor, answered by the engine in the same parse', () => {
  it('turns an allowed command it lists into an ask, with its own reason', () => {
    const verdict = judge('touch a.txt');
    expect(verdict.value).toBe('ask');
    expect(verdict.decision.approvalsRequired.map((a) => a.entry)).toEqual(['touch']);
    expect(verdict.decision.reasons.at(-1)).toBe(
      'router.approvalRequiredFor lists "touch": a person approves it first.',
    );
  });

  it('leaves commands it does not list, and never loosens a denial', () => {
    expect(judge('echo hi').value).toBe('allow');
    expect(judge('touch x; rm -rf /').value).toBe('deny');
  });
});

describe('decide: the session capabilities reach the engine', () => {
  it('asks about a host only where a person can grant one, and allows a granted host', () => {
    const ask: SessionCapabilities = {
      ...capabilities,
      network: { mode: 'ask', allow: [], registryNames: {} },
    };
    expect(judge('curl https://api.example.test/x').value).toBe('deny');
    expect(judge('curl https://api.example.test/x', none, ask).value).toBe('ask');
    const granted = { ...ask, network: { ...ask.network, allow: ['api.example.test'] } };
    expect(judge('curl https://api.example.test/x', none, granted).value).toBe('allow');
  });
});

describe('decide: grants for the rest of the session', () => {
  it('runs a command a person approved for the session, literally, without asking again', () => {
    const grants = { commands: new Set(['touch a.txt']), programs: new Set<string>() };
    expect(judge('touch a.txt', grants).value).toBe('allow');
    expect(judge('touch b.txt', grants).value).toBe('ask');
    expect(judge('touch a.txt; touch b.txt', grants).value).toBe('ask');
    // The other parts need no person, so the grant covers the command.
    expect(judge('cd /tmp && touch a.txt', grants).value).toBe('allow');
  });

  it('runs any command of a granted program that would ask, and still refuses its denials', () => {
    const grants = { commands: new Set<string>(), programs: new Set(['touch']) };
    expect(judge('touch b.txt', grants).value).toBe('allow');
    expect(judge('touch c.txt; rm -rf /', grants).value).toBe('deny');
    expect(judge('sed -i s/a/b/ package.json', grants).value).toBe('ask');
  });

  it('never lets a grant cover a hazard (an unparsable part)', () => {
    const command = 'touch a.txt; echo "unterminated';
    const decision = engine.evaluate(command);
    expect(decision.hazards.length).toBeGreaterThan(0);
    const grants = {
      commands: new Set(decision.commands.map((verdict) => verdict.command)),
      programs: new Set(['touch', 'echo']),
    };
    expect(judge(command, grants).value).toBe('ask');
    expect(offeredGrants(decision)).toEqual([]);
  });

  it('remembers only fully literal commands (adversarial: a variable may name something else later)', () => {
    const decision = engine.evaluate('touch "$TARGET"; touch fixed.txt');
    expect(rememberable(decision)).toEqual(['touch fixed.txt']);
    const scopes = offeredGrants(decision).map((grant) => grant.scope);
    expect(scopes).toEqual(['program']);
  });

  it('offers this command, this program and the host a person could grant, each with what it covers', () => {
    const ask: SessionCapabilities = {
      ...capabilities,
      network: { mode: 'ask', allow: [], registryNames: {} },
    };
    const decision = engine.evaluate('curl -s https://api.example.test/v1 -o out.json', {
      capabilities: ask,
    });
    expect(offeredGrants(decision)).toEqual([
      { scope: 'command', covers: ['curl -s https://api.example.test/v1 -o out.json'] },
      { scope: 'program', covers: ['curl'] },
      { scope: 'host', covers: ['api.example.test'] },
    ]);
  });
});
