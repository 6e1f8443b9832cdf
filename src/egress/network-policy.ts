/**
 * A session's network policy, checked and compiled when the session opens or its list changes: every
 * entry parsed, `registry:*` names resolved to the hosts the host's own configuration names, `hosts`
 * addresses validated. A bad entry refuses the whole change (INVALID_ARGUMENT, every problem listed),
 * never half of it.
 */
import { isIP } from 'node:net';
import { AirlockError } from '../errors/index.ts';
import { compileAllowList, isRegistryRule, type AllowList, type HostRule } from './allow-list.ts';
import { parseTargetHost } from './host-name.ts';
import { NETWORK_MODES, type EgressNetworkPolicy, type NetworkMode, type RegistryResolver } from './types.ts';

export interface CompiledNetwork {
  readonly mode: NetworkMode;
  readonly allowList: AllowList;
  /** Exact name → fixed address. */
  readonly hosts: ReadonlyMap<string, string>;
}

/** Past this, a list is a mistake (or an attempt to make every match slow), not a configuration. */
export const MAX_ALLOW_ENTRIES = 1000;

export async function compileNetwork(
  policy: EgressNetworkPolicy,
  registries: RegistryResolver | undefined,
): Promise<CompiledNetwork> {
  const problems: string[] = [];
  if (!NETWORK_MODES.includes(policy.mode))
    problems.push(`${JSON.stringify(policy.mode)} is not a network mode: use ${NETWORK_MODES.join(', ')}`);
  if (policy.allow.length > MAX_ALLOW_ENTRIES)
    problems.push(`allow has ${policy.allow.length} entries; at most ${MAX_ALLOW_ENTRIES}`);
  const rules: HostRule[] = [];
  for (const entry of policy.allow) {
    if (!isRegistryRule(entry)) {
      rules.push(entry);
      continue;
    }
    if (registries === undefined) {
      problems.push(`registry:${entry.registry} cannot be used: no registry resolver is configured`);
      continue;
    }
    try {
      const locations = await registries(entry.registry);
      if (locations.length === 0)
        problems.push(`registry:${entry.registry}: the host's configuration names no registry`);
      for (const location of locations) rules.push({ host: location.host, ports: [location.port] });
    } catch (error) {
      problems.push(`registry:${entry.registry}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const hosts = new Map<string, string>();
  for (const [name, address] of Object.entries(policy.hosts)) {
    const parsed = parseTargetHost(name);
    if (!parsed.ok || parsed.value.kind !== 'name') {
      problems.push(`hosts: ${JSON.stringify(name)} is not a host name`);
    } else if (isIP(address) === 0 || address.includes('%')) {
      problems.push(
        `hosts: ${parsed.value.host} maps to ${JSON.stringify(address)}, which is not an IP address`,
      );
    } else {
      hosts.set(parsed.value.host, address);
    }
  }
  if (problems.length > 0) {
    throw new AirlockError('INVALID_ARGUMENT', `invalid network policy:\n  ${problems.join('\n  ')}`, {
      problems,
    });
  }
  return { mode: policy.mode, allowList: compileAllowList(rules), hosts };
}
