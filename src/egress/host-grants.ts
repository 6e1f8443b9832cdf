/**
 * A person's host grant, as the proxy enforces it. Approving a command with "remember: host" grants
 * the hosts the policy saw it reach (`api.example.test`, `registry:npm`), named without ports: the
 * policy judges names, the proxy ports. So a granted name is let through on the ports an allow entry
 * without a port has (80 and 443) and on the ports the approved command itself names for that host
 * (`http://api.example.test:8080/…`): what the person read when they approved, nothing wider. A
 * registry name stands for the locations the host's configuration gives it, as in the allow-list.
 */
import { DEFAULT_PORTS, REGISTRY_NAMES, type HostRule } from './allow-list.ts';
import { parsePort, parseTargetHost } from './host-name.ts';
import type { RegistryResolver } from './types.ts';

/** The host names a grant covers at most: more is not a person's choice but a mistake. */
const MAX_GRANTED_HOSTS = 100;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Ports a command names for `host` in URLs (`scheme://[user@]host:port`), in order, without repeats. */
export function portsNamedFor(host: string, command: string): number[] {
  const url = new RegExp(`//(?:[^\\s/@]*@)?${escapeRegExp(host)}:(\\d{1,5})(?![\\w.-])`, 'gi');
  const ports: number[] = [];
  for (const match of command.matchAll(url)) {
    const port = parsePort(match[1] ?? '');
    if (port !== undefined && !ports.includes(port)) ports.push(port);
  }
  return ports;
}

/**
 * The rules for hosts a person granted; a name that is not a host (a glob, a path the policy took for
 * a host) grants nothing, and a registry that cannot be resolved grants nothing either: its
 * connections still ask.
 */
export async function grantedHostRules(
  hosts: readonly string[],
  command: string | undefined,
  registries: RegistryResolver | undefined,
): Promise<HostRule[]> {
  const rules: HostRule[] = [];
  for (const entry of hosts.slice(0, MAX_GRANTED_HOSTS)) {
    const registry = REGISTRY_NAMES.find((name) => entry === `registry:${name}`);
    if (registry !== undefined) {
      const locations = await (registries?.(registry) ?? Promise.resolve([])).catch(() => []);
      for (const location of locations) rules.push({ host: location.host, ports: [location.port] });
      continue;
    }
    const parsed = parseTargetHost(entry);
    if (!parsed.ok) continue;
    const named = command === undefined ? [] : portsNamedFor(entry, command);
    const ports = [...DEFAULT_PORTS, ...named.filter((port) => !DEFAULT_PORTS.includes(port))];
    rules.push({ host: parsed.value.host, ports });
  }
  return rules;
}
