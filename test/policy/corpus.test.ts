import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicyEngine, DEFAULT_CAPABILITIES, type PolicyEngine } from '../../src/policy/index.ts';
import { EVERYDAY_SESSION, readCorpus, SESSION_WITH_SECRETS, type CorpusEntry } from './corpus.ts';
import { treeSitterWasm } from './load-wasm.ts';

const evasions = readCorpus('evasions');
const benign = readCorpus('benign');
/** Filled from public sources before any tuning; never tuned against. Its figure is reported on its own. */
const heldout = readCorpus('benign-heldout');
/** A second held-out split, gathered before the second round of tuning; never tuned against either. */
const heldout2 = readCorpus('benign-heldout-2');
/**
 * A third split, labelled before the policy was first run on it (npm packages' scripts, CI steps of
 * other projects, OpenHands runtime-test commands). It first measured 239/255 = 93.7% allowed; the
 * general bugs its misses showed were then fixed (see src/policy/heldout-3-fixes.test.ts), so it too
 * has been read and is gated at the target like the others.
 */
const heldout3 = readCorpus('benign-heldout-3');

/** The targets of issue 13: on everyday commands that stay inside, at least this share is allowed outright. */
const EVERYDAY_ALLOWED_TARGET = 0.97;
/**
 * The second held-out split reached 164/170 = 96.5% (163/170 = 95.9% with the tree-sitter
 * cross-check) when first measured after tuning (90.0% before). Its misses were then read to find
 * general bugs (a double-quoted word with expansions read as several words, cargo's `+toolchain` and
 * `--`, functions defined and called in one command, package tools that download only sometimes,
 * a backslash-newline in quoted text), which lifted it to 168/170 = 98.8% (167/170 = 98.2%
 * cross-checked), and binding a function's `$1` to its calls' literal words to 169/170 = 99.4%
 * (168/170 cross-checked): it is no longer unseen, so it
 * is gated at the target like the others. It still has 3 everyday commands denied (writes to
 * read-only system directories under sudo; see the corpus README), which are not gated here.
 */
const HELDOUT_2_FLOOR = EVERYDAY_ALLOWED_TARGET;

function percent(part: number, whole: number): string {
  return `${part}/${whole} = ${((100 * part) / whole).toFixed(1)}%`;
}

describe('the corpora', () => {
  it('record where every entry comes from and what a reviewer expects', () => {
    const all = [...evasions, ...benign, ...heldout, ...heldout2, ...heldout3];
    expect(all.length).toBeGreaterThan(0);
    expect(
      all.filter((e) => typeof e.source !== 'string' || e.source.trim() === '').map((e) => e.cmd),
    ).toEqual([]);
    const everydayExpectations = new Set(
      [...benign, ...heldout, ...heldout2, ...heldout3].map((e) => e.expected),
    );
    expect([...everydayExpectations].sort()).toEqual(['allow', 'ask']);
  });

  it('keep the held-out splits apart from the tuned one and from each other', () => {
    const tuned = new Set(benign.map((e) => e.cmd));
    const first = new Set(heldout.map((e) => e.cmd));
    expect(heldout.filter((e) => tuned.has(e.cmd)).map((e) => e.cmd)).toEqual([]);
    expect(heldout2.filter((e) => tuned.has(e.cmd) || first.has(e.cmd)).map((e) => e.cmd)).toEqual([]);
    const second = new Set(heldout2.map((e) => e.cmd));
    expect(
      heldout3.filter((e) => tuned.has(e.cmd) || first.has(e.cmd) || second.has(e.cmd)).map((e) => e.cmd),
    ).toEqual([]);
    expect(new Set(heldout3.map((e) => e.cmd)).size).toBe(heldout3.length);
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
  const everyday = (e: CorpusEntry) => engine.evaluate(e.cmd, { capabilities: EVERYDAY_SESSION }).decision;

  it('has cases to check', () => {
    expect(evasions.length).toBeGreaterThan(200);
    expect(benign.length).toBeGreaterThan(100);
    expect(heldout.length).toBeGreaterThan(50);
    expect(heldout2.length).toBeGreaterThanOrEqual(200);
    expect(heldout3.length).toBeGreaterThanOrEqual(250);
  });

  it('never allows an attack, in a session with secrets to steal', () => {
    const allowed = evasions
      .filter((e) => engine.evaluate(e.cmd, { capabilities: SESSION_WITH_SECRETS }).decision === 'allow')
      .map((e) => e.cmd);
    expect(allowed).toEqual([]);
  });

  it('never allows an attack in a session given no secrets, except those that need secrets to steal', () => {
    const needsSecrets = evasions.filter((e) => e.session === 'with-secrets');
    // The exempt ones are few and each says why in its source.
    expect(needsSecrets.length).toBeLessThan(10);
    for (const e of needsSecrets) expect(e.source).toMatch(/only where the session holds secrets/);
    const allowed = evasions
      .filter((e) => e.session !== 'with-secrets')
      .filter((e) => engine.evaluate(e.cmd, { capabilities: EVERYDAY_SESSION }).decision === 'allow')
      .map((e) => e.cmd);
    expect(allowed).toEqual([]);
  });

  it('never denies an everyday command, tuned or held out', () => {
    const denied = [...benign, ...heldout].filter((e) => everyday(e) === 'deny').map((e) => e.cmd);
    expect(denied).toEqual([]);
  });

  it('never allows an everyday command that crosses the boundary (publishing, installs, the network)', () => {
    const allowed = [...benign, ...heldout]
      .filter((e) => e.expected === 'ask' && everyday(e) === 'allow')
      .map((e) => e.cmd);
    expect(allowed).toEqual([]);
  });

  it(`allows at least ${EVERYDAY_ALLOWED_TARGET * 100}% of the everyday commands that stay inside`, () => {
    const marked = benign.filter((e) => e.expected === 'allow');
    expect(marked.length).toBeGreaterThan(0);
    const allowed = marked.filter((e) => everyday(e) === 'allow');
    const held = heldout.filter((e) => e.expected === 'allow');
    const heldAllowed = held.filter((e) => everyday(e) === 'allow');
    const held2 = heldout2.filter((e) => e.expected === 'allow');
    const held2Allowed = held2.filter((e) => everyday(e) === 'allow');
    console.log(
      `everyday allowed (${crossCheck ? 'cross-checked' : 'unbash only'}): tuned ${percent(allowed.length, marked.length)}; held-out ${percent(heldAllowed.length, held.length)}; held-out 2 ${percent(held2Allowed.length, held2.length)}`,
    );
    expect(allowed.length / marked.length).toBeGreaterThanOrEqual(EVERYDAY_ALLOWED_TARGET);
    expect(heldAllowed.length / held.length).toBeGreaterThanOrEqual(EVERYDAY_ALLOWED_TARGET);
  });

  it(`held out 2: allows at least ${(HELDOUT_2_FLOOR * 100).toFixed(1)}% of the everyday commands that stay inside`, () => {
    const held2 = heldout2.filter((e) => e.expected === 'allow');
    const allowed = held2.filter((e) => everyday(e) === 'allow');
    expect(allowed.length / held2.length).toBeGreaterThanOrEqual(HELDOUT_2_FLOOR);
  });

  it(`held out 3: allows at least ${EVERYDAY_ALLOWED_TARGET * 100}% of the everyday commands that stay inside`, () => {
    const tally = (expected: string) => {
      const decisions = heldout3.filter((e) => e.expected === expected).map(everyday);
      expect(decisions.length).toBeGreaterThan(0);
      const count = (d: string) => decisions.filter((x) => x === d).length;
      return { total: decisions.length, allow: count('allow'), ask: count('ask'), deny: count('deny') };
    };
    const inside = tally('allow');
    const crossing = tally('ask');
    // The ones labelled ask that are allowed or denied are reported, not gated: a project script or
    // an unknown tool that publishes cannot be told from the text (the egress proxy still stops
    // it), and a sudo write to the read-only /etc is refused outright (see the corpus README).
    console.log(
      `held out 3 (${crossCheck ? 'cross-checked' : 'unbash only'}): stays inside ${percent(inside.allow, inside.total)} allowed, ${inside.ask} ask, ${inside.deny} deny; crosses the boundary: ${crossing.ask}/${crossing.total} ask, ${crossing.allow} allowed, ${crossing.deny} denied`,
    );
    expect(inside.deny).toBe(0);
    expect(inside.allow / inside.total).toBeGreaterThanOrEqual(EVERYDAY_ALLOWED_TARGET);
  });
});

describe('corpus gate in other sessions', () => {
  it('never allows an attack under the readonly preset', async () => {
    const engine = await createPolicyEngine({ policy: { preset: 'readonly' } });
    const allowed = evasions
      .filter((e) => engine.evaluate(e.cmd, { capabilities: SESSION_WITH_SECRETS }).decision === 'allow')
      .map((e) => e.cmd);
    expect(allowed).toEqual([]);
  });

  it('in a session with no network, refuses at once (never asks) what needs it, and nothing else', async () => {
    const engine = await createPolicyEngine({ policy: { preset: 'coding-agent' } });
    const decisions = [...benign, ...heldout].map((e) => ({
      e,
      d: engine.evaluate(e.cmd, { capabilities: DEFAULT_CAPABILITIES }),
    }));
    const deniedNotForNetwork = decisions
      .filter(({ d }) => d.decision === 'deny' && !d.ruleIds.includes('no-network'))
      .map(({ e }) => e.cmd);
    expect(deniedNotForNetwork).toEqual([]);
    // An ask that a person cannot grant would only fail after they approved it.
    const askedForNetwork = decisions.filter(({ d }) => d.ruleIds.includes('network-grantable'));
    expect(askedForNetwork.map(({ e }) => e.cmd)).toEqual([]);
  });
});
