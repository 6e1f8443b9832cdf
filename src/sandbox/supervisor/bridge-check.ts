import { AirlockError } from '../../errors/index.ts';
import type { SandboxSpec } from '../types.ts';
import type { SupervisorClient } from './client.ts';

/**
 * A sandbox given egress must report its bridge listening: a supervisor that does not (an older
 * helper) would leave the session silently without its network, so the start fails instead.
 */
export function assertBridge(spec: SandboxSpec, client: SupervisorClient): void {
  if (spec.egress === undefined || client.facts?.egressBridge === true) return;
  throw new AirlockError(
    'SANDBOX_UNAVAILABLE',
    'the sandbox supervisor did not start the egress bridge: rebuild the helper (npm run build:helper)',
    { missing: 'egress bridge' },
  );
}
