/**
 * One session's mutable state as the manager keeps it, and the changes a person or the pipeline makes
 * to it (activity, work in flight, grants, secret files, live network). Only the manager calls these:
 * the rest of Airlock sees the read-only `LiveSession`.
 */
import { AirlockError } from '../errors/index.ts';
import { capabilitiesOf, SANDBOX_HOME } from './capabilities.ts';
import type {
  LiveSession,
  SecretFileValue,
  SessionEndCode,
  SessionGrant,
  SessionNetwork,
  SessionPhase,
} from './types.ts';

/** The manager's own view of a session: the fields `LiveSession` shows read-only, writable. */
export interface ManagedSession extends LiveSession {
  expiresAt: number;
  lastActiveAt: number;
  network: SessionNetwork;
  busy: number;
  phase: SessionPhase;
  endCode: SessionEndCode | null;
  fileSecrets: readonly SecretFileValue[];
  capabilities: LiveSession['capabilities'];
  readonly remembered: Set<string>;
  readonly grantedPrograms: Set<string>;
  readonly grantedHosts: Set<string>;
  /** `host:port` the egress proxy lets through because a person said so (see `setEgressGrants`). */
  egressHosts: readonly string[];
  /** Absolute paths of secret files copied in. */
  readonly secretFiles: string[];
}

/** Most values one session redacts from secret files: each costs every output a search. */
export const MAX_SECRET_FILE_VALUES = 1024;

/** What the policy may assume of the session now: recomputed after every change that affects it. */
export function capabilitiesOfState(
  state: Pick<ManagedSession, 'settings' | 'network' | 'grantedHosts' | 'egressHosts' | 'secretFiles'>,
): LiveSession['capabilities'] {
  return capabilitiesOf({
    driver: state.settings.driver,
    network: state.network,
    grantedHosts: [...new Set([...state.grantedHosts, ...state.egressHosts])],
    secretEnvNames: state.settings.secretEnvNames,
    secretFiles: state.secretFiles,
    home: state.settings.sandbox.env['HOME'] ?? SANDBOX_HOME,
  });
}

/** Marks work in flight; the returned function ends it (once, however often it is called). */
export function beginWorkOn(state: ManagedSession, now: () => number): () => void {
  state.busy += 1;
  state.lastActiveAt = now();
  let finished = false;
  return () => {
    if (finished) return;
    finished = true;
    state.busy -= 1;
    state.lastActiveAt = now();
  };
}

export function setNetworkOf(state: ManagedSession, network: SessionNetwork): void {
  state.network = network;
  // The next command is judged against the new list, as the proxy already enforces it.
  state.capabilities = capabilitiesOfState(state);
}

export function setEgressHostsOf(state: ManagedSession, hosts: readonly string[]): void {
  state.egressHosts = Object.freeze([...hosts]);
  // A host the proxy lets through is judged granted; one withdrawn is asked about again.
  state.capabilities = capabilitiesOfState(state);
}

export function grantTo(state: ManagedSession, grant: SessionGrant): void {
  switch (grant.scope) {
    case 'command':
      for (const key of grant.covers) state.remembered.add(key);
      return;
    case 'program':
      for (const program of grant.covers) state.grantedPrograms.add(program);
      return;
    case 'host':
      for (const host of grant.covers) state.grantedHosts.add(host);
      state.capabilities = capabilitiesOfState(state);
      return;
  }
}

export function addSecretFileTo(
  state: ManagedSession,
  path: string,
  values: readonly SecretFileValue[],
): void {
  const known = new Set(state.fileSecrets.map((secret) => secret.value));
  const fresh = values.filter((secret) => !known.has(secret.value));
  const room = MAX_SECRET_FILE_VALUES - state.fileSecrets.length;
  // Past the bound the file is still judged a secret by the policy; its values are no longer all
  // redacted by value (token formats still are). A session copying in that many is unusual.
  if (fresh.length > 0 && room > 0) state.fileSecrets = [...state.fileSecrets, ...fresh.slice(0, room)];
  if (!state.secretFiles.includes(path)) {
    state.secretFiles.push(path);
    state.capabilities = capabilitiesOfState(state);
  }
}

/**
 * The new end of a session's lifetime, `expiresInMs` from `now`; INVALID_ARGUMENT past `maxTtlMs`
 * after its creation (with the latest end allowed), or for a value that is not a positive integer.
 */
export function extendedExpiry(
  state: Pick<ManagedSession, 'createdAt'>,
  expiresInMs: number,
  now: number,
  maxTtlMs: number,
): number {
  if (!Number.isSafeInteger(expiresInMs) || expiresInMs <= 0) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      'expiresInMs must be a positive whole number of milliseconds',
      {
        field: 'expiresInMs',
      },
    );
  }
  const latest = state.createdAt + maxTtlMs;
  const expiresAt = now + expiresInMs;
  if (expiresAt > latest) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `a session lives at most ${maxTtlMs} ms from its creation (sessions.maxLifetime): ` +
        `expiresInMs may be at most ${Math.max(0, latest - now)} now`,
      {
        field: 'expiresInMs',
        max: Math.max(0, latest - now),
        latestExpiresAt: new Date(latest).toISOString(),
      },
    );
  }
  return expiresAt;
}
