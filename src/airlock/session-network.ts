/**
 * What a session's sandbox can reach, as the policy is told: the network a sandbox really has, never
 * what a file asks for. Sandboxes have only their own loopback until an egress proxy serves them;
 * telling the policy otherwise would ask people to grant hosts the sandbox still cannot reach (the
 * command then fails with "Could not resolve host").
 */
import type { NetworkConfig } from '../config/index.ts';
import { NO_NETWORK } from '../sessions/index.ts';
import type { SessionNetwork } from '../sessions/index.ts';

/** An egress proxy serving sessions: what it resolves each registry name to. */
export interface EgressReach {
  readonly registryNames: Readonly<Record<string, readonly string[]>>;
}

function entryText(entry: NetworkConfig['allow'][number]): string {
  if ('registry' in entry) return `registry:${entry.registry}`;
  const ports =
    entry.ports.length === 2 && entry.ports[0] === 80 && entry.ports[1] === 443 ? [] : entry.ports;
  return ports.length === 1 ? `${entry.host}:${ports[0]}` : entry.host;
}

/** `sandbox.network` as the policy's capabilities, when `egress` serves sessions; else loopback only. */
export function sessionNetworkOf(network: NetworkConfig, egress: EgressReach | null): SessionNetwork {
  if (egress === null || network.mode === 'none') return NO_NETWORK;
  return Object.freeze({
    mode: network.mode,
    allow: Object.freeze(network.allow.map(entryText)),
    registryNames: egress.registryNames,
  });
}
