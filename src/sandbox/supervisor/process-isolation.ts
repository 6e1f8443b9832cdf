import { readFileSync } from 'node:fs';
import type { ProcessIsolation } from '../types.ts';
import type { SupervisorFacts } from './reply-decoder.ts';

/** The host kernel's Yama ptrace_scope, or null where Yama is not active. */
export function readYamaPtraceScope(path = '/proc/sys/kernel/yama/ptrace_scope'): number | null {
  try {
    const scope = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(scope) && scope >= 0 && scope <= 3 ? scope : null;
  } catch {
    return null;
  }
}

/**
 * What holds in one sandbox: the supervisor's own report (undefined when it made none: a sandbox
 * restored from an older checkpoint), the host uid its processes run as, and the host kernel's Yama
 * setting where commands run on the host kernel (both null for gVisor, whose kernel is its own).
 */
export function processIsolation(
  facts: SupervisorFacts | undefined,
  host: { hostUid: number | null; yamaPtraceScope: number | null },
): ProcessIsolation | undefined {
  if (facts === undefined) return undefined;
  return {
    hostUid: host.hostUid,
    supervisorIsPid1: facts.pid1,
    separateUid: facts.separateUid,
    landlockAbi: facts.landlockAbi > 0 ? facts.landlockAbi : null,
    yamaPtraceScope: host.yamaPtraceScope,
  };
}
