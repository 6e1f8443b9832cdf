/**
 * The decide stage: the session's policy judges the command against the session's capabilities, in
 * one parse that also answers `router.approvalRequiredFor` (the engine's approval gate); only what a
 * person approved for the session loosens an ask. Synchronous and without I/O, like the policy itself.
 */
import type {
  CommandVerdict,
  Decision,
  DecisionValue,
  PolicyEngine,
  SessionCapabilities,
} from '../../policy/index.ts';
import type { ApprovalGrant } from '../../store/index.ts';

export interface Verdict {
  /** The policy's decision, `approvalRequiredFor` included. */
  readonly decision: Decision;
  /** What the pipeline does: run, ask a person, or refuse. */
  readonly value: DecisionValue;
}

/** What a person approved for the rest of the session. */
export interface SessionGrants {
  /** Parsed commands approved literally. */
  readonly commands: ReadonlySet<string>;
  /** Programs whose commands that would ask run unasked. */
  readonly programs: ReadonlySet<string>;
}

export interface DecideInput {
  readonly engine: PolicyEngine;
  readonly capabilities: SessionCapabilities;
  readonly grants: SessionGrants;
  readonly command: string;
}

export function decide(input: DecideInput): Verdict {
  const { engine, capabilities, grants, command } = input;
  const decision = engine.evaluate(command, { capabilities });
  if (decision.decision !== 'ask') return { decision, value: decision.decision };
  // A grant never overrides a hazard (an unparsable or hidden part).
  if (decision.hazards.some((hazard) => hazard.decision !== 'allow')) return { decision, value: 'ask' };
  const needing = needsPerson(decision);
  const covered = needing.length > 0 && needing.every((verdict) => isCovered(verdict, grants));
  return { decision, value: covered ? 'allow' : 'ask' };
}

/**
 * The parsed commands a person must approve: those the policy asks about, and those an
 * `approvalRequiredFor` entry matches (the policy alone would have allowed them).
 */
export function needsPerson(decision: Decision): CommandVerdict[] {
  const gated = new Set(decision.approvalsRequired.map((requirement) => requirement.command));
  return decision.commands.filter((verdict) => verdict.decision !== 'allow' || gated.has(verdict.command));
}

/** Whether a grant covers one command: approved literally, or its program approved (asks only). */
function isCovered(verdict: CommandVerdict, grants: SessionGrants): boolean {
  if (verdict.decision === 'deny') return false;
  if (grants.commands.has(verdict.command)) return true;
  return (
    verdict.program !== null &&
    grants.programs.has(verdict.program) &&
    // A program grant covers what the program itself does, never what could not be judged.
    verdict.effects.every((effect) => effect.decision === 'allow' || effect.kind !== 'hazard')
  );
}

/**
 * What a person's "approve for this session" remembers of a decision: only fully literal commands,
 * because `rm -rf $DIR` approved once must not run unasked later, when $DIR (or a substitution's
 * output) may name something else.
 */
export function rememberable(decision: Decision): string[] {
  return decision.commands.map((verdict) => verdict.command).filter((command) => !/[$`]/.test(command));
}

/**
 * What a person may approve for the rest of the session instead of once, each with what it covers:
 * - `command`: these exact commands, when every one that needs a person is fully literal;
 * - `program`: these programs, when every command that needs a person names its program and asks
 *   for nothing the policy could not judge;
 * - `host`: hosts a person can grant the session (the network is in `ask` mode), named literally.
 * Nothing when a hazard asks: no grant could cover it.
 */
export function offeredGrants(decision: Decision): ApprovalGrant[] {
  if (decision.decision !== 'ask') return [];
  if (decision.hazards.some((hazard) => hazard.decision !== 'allow')) return [];
  const needing = needsPerson(decision);
  if (needing.length === 0 || needing.some((verdict) => verdict.decision === 'deny')) return [];
  const grants: ApprovalGrant[] = [];
  const commands = unique(needing.map((verdict) => verdict.command));
  if (commands.every((command) => !/[$`]/.test(command))) grants.push({ scope: 'command', covers: commands });
  const judged = needing.every((verdict) =>
    verdict.effects.every((effect) => effect.decision === 'allow' || effect.kind !== 'hazard'),
  );
  const programs = needing.map((verdict) => verdict.program);
  if (judged && programs.every((program): program is string => program !== null)) {
    grants.push({ scope: 'program', covers: unique(programs) });
  }
  const hosts = needing.flatMap((verdict) =>
    verdict.effects.flatMap((effect) =>
      effect.kind === 'net' && effect.decision === 'ask' && effect.host !== undefined ? [effect.host] : [],
    ),
  );
  if (hosts.length > 0) grants.push({ scope: 'host', covers: unique(hosts) });
  return grants;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
