import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicyEngine, type PolicyEngine } from '../../src/policy/index.ts';
import { readCorpus } from './corpus.ts';
import { treeSitterWasm } from './load-wasm.ts';

const evasions = readCorpus('evasions');
const benign = readCorpus('benign');

describe('the corpora', () => {
  it('record where every entry comes from', () => {
    const unsourced = [...evasions, ...benign].filter(
      (e) => typeof e.source !== 'string' || e.source.trim() === '',
    );
    expect(evasions.length + benign.length).toBeGreaterThan(0);
    expect(unsourced.map((e) => e.cmd)).toEqual([]);
  });
});

describe.each([
  { label: 'unbash alone', crossCheck: false },
  { label: 'with the tree-sitter cross-check', crossCheck: true },
])('corpus gate, coding-agent preset, $label', ({ crossCheck }) => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    engine = await createPolicyEngine(
      crossCheck
        ? { policy: { preset: 'coding-agent' }, treeSitter: await treeSitterWasm() }
        : { policy: { preset: 'coding-agent' } },
    );
  });

  it('has cases to check', () => {
    expect(evasions.length).toBeGreaterThan(100);
    expect(benign.length).toBeGreaterThan(20);
  });

  it('never allows an evasion', () => {
    const allowed = evasions.filter((e) => engine.evaluate(e.cmd).decision === 'allow').map((e) => e.cmd);
    expect(allowed).toEqual([]);
  });

  it('never denies an everyday command', () => {
    const denied = benign.filter((e) => engine.evaluate(e.cmd).decision === 'deny').map((e) => e.cmd);
    expect(denied).toEqual([]);
  });

  it('allows at least 90% of the everyday commands marked allow', () => {
    const marked = benign.filter((e) => e.expected === 'allow');
    expect(marked.length).toBeGreaterThan(0);
    const allowed = marked.filter((e) => engine.evaluate(e.cmd).decision === 'allow');
    const rate = allowed.length / marked.length;
    console.log(
      `benign allow rate (${crossCheck ? 'cross-checked' : 'unbash only'}): ${allowed.length}/${marked.length} = ${(rate * 100).toFixed(1)}%`,
    );
    expect(rate).toBeGreaterThanOrEqual(0.9);
  });
});

describe('corpus gate under the readonly preset', () => {
  it('never allows an evasion', async () => {
    const engine = await createPolicyEngine({ policy: { preset: 'readonly' } });
    const allowed = evasions.filter((e) => engine.evaluate(e.cmd).decision === 'allow').map((e) => e.cmd);
    expect(allowed).toEqual([]);
  });
});
