/**
 * The policy engines of one control plane: the configured policy's, made at start-up, and one per
 * preset a session chooses instead, made on first use and then shared. Each carries
 * `router.approvalRequiredFor` as its approval gate, so one parse answers both.
 */
import type { AirlockConfig } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import { createPolicyEngine, loadPolicy, PolicyLoadError } from '../policy/index.ts';
import type { Policy, PolicyEngine, PresetName } from '../policy/index.ts';
import { presetOf } from '../sessions/index.ts';
import type { LiveSession } from '../sessions/index.ts';
import { loadTreeSitterWasm } from './tree-sitter-wasm.ts';

export interface Policies {
  /** The configured policy's engine. */
  readonly engine: PolicyEngine;
  /** The engine judging a session's commands: its preset's, else the configured one. */
  policyFor(session: LiveSession): PolicyEngine;
  /** Makes the engine of a session's chosen preset before the session exists. */
  preparePolicy(preset: PresetName | undefined): Promise<void>;
}

export async function createPolicies(
  config: AirlockConfig,
  options: { readonly policy?: Policy | undefined; readonly crossCheck?: boolean | undefined },
): Promise<Policies> {
  const policy =
    options.policy ?? loadPolicy({ document: config.policy, origin: `preset:${config.policy.preset}` });
  const treeSitter = options.crossCheck === false ? undefined : await loadTreeSitterWasm();
  const approvalRequiredFor = config.router.approvalRequiredFor;
  const engineOf = (source: Policy): Promise<PolicyEngine> =>
    createPolicyEngine({
      policy: source,
      approvalRequiredFor,
      ...(treeSitter === undefined ? {} : { treeSitter }),
    });
  const engine = await engineOf(policy).catch((error: unknown) => {
    if (!(error instanceof PolicyLoadError) || error.origin !== 'router.approvalRequiredFor') throw error;
    // Compiled at start-up, so a bad entry stops Airlock before anything is opened.
    throw new AirlockError(
      'INVALID_CONFIG',
      `router.approvalRequiredFor: ${error.issues.map((issue) => issue.message).join('; ')}`,
      { key: 'router.approvalRequiredFor' },
    );
  });
  const pending = new Map<PresetName, Promise<PolicyEngine>>();
  const ready = new Map<PresetName, PolicyEngine>();
  return {
    engine,
    policyFor: (session) =>
      session.settings.policy === null ? engine : (ready.get(session.settings.policy) ?? engine),
    async preparePolicy(requested) {
      const preset = presetOf(requested);
      if (preset === undefined || ready.has(preset)) return;
      let making = pending.get(preset);
      if (making === undefined) {
        making = engineOf(loadPolicy({ preset }));
        pending.set(preset, making);
      }
      ready.set(preset, await making);
    },
  };
}
