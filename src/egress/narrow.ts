/**
 * Whether a session's own network list stays within the server's: a session (made over the API, or
 * changed live) may have less than the configuration grants, never more. Pure.
 *
 * "Within" means: a mode at most as open (none < allowlist < ask: in ask mode a person can add
 * hosts); every allowed host and port covered by a server entry (`a.example.org` by itself or by
 * `*.example.org`, `*.x.example.org` by `*.example.org`), every registry by the same registry; every
 * fixed address exactly the server's for that name. A session cannot name a new private address, a
 * new port or a new registry.
 */
import { isRegistryRule, type AllowEntry, type HostRule } from './allow-list.ts';
import { formatHostPort } from './host-name.ts';
import type { EgressNetworkPolicy, NetworkMode } from './types.ts';

const MODE_RANK: Readonly<Record<NetworkMode, number>> = { none: 0, allowlist: 1, ask: 2 };

/** Whether the server's host pattern covers the requested one (both already normalised). */
export function hostCovered(serverHost: string, requestedHost: string): boolean {
  if (serverHost === requestedHost) return true;
  if (!serverHost.startsWith('*.')) return false;
  const suffix = serverHost.slice(1); // ".example.org"
  const name = requestedHost.startsWith('*.') ? requestedHost.slice(2) : requestedHost;
  // `*.example.org` covers every name below example.org, and every wildcard below it, never
  // example.org itself (or `*.example.org` over a bare `example.org`).
  return (requestedHost.startsWith('*.') ? `.${name}` : name).endsWith(suffix);
}

/** Whether every port of `rule` is allowed by some server rule covering its host. */
export function ruleCovered(serverRules: readonly HostRule[], rule: HostRule): boolean {
  return rule.ports.every((port) =>
    serverRules.some((server) => server.ports.includes(port) && hostCovered(server.host, rule.host)),
  );
}

/** What the requested network has that the server's does not, one sentence each; empty when none. */
export function widerThan(server: EgressNetworkPolicy, requested: EgressNetworkPolicy): string[] {
  const problems: string[] = [];
  if (MODE_RANK[requested.mode] > MODE_RANK[server.mode]) {
    problems.push(`mode ${requested.mode} is wider than the server's ${server.mode}`);
  }
  if (requested.mode === 'none') return problems;
  const serverRules = server.allow.filter((entry): entry is HostRule => !isRegistryRule(entry));
  const serverRegistries = new Set(
    server.allow.flatMap((entry) => (isRegistryRule(entry) ? [entry.registry] : [])),
  );
  for (const entry of requested.allow) {
    if (isRegistryRule(entry)) {
      if (!serverRegistries.has(entry.registry))
        problems.push(`registry:${entry.registry} is not in the server's allow-list`);
    } else if (!ruleCovered(serverRules, entry)) {
      problems.push(`${describeRule(entry)} is not covered by the server's allow-list`);
    }
  }
  for (const [name, address] of Object.entries(requested.hosts)) {
    const serverAddress = server.hosts[name];
    if (serverAddress === undefined)
      problems.push(`hosts: ${name} has no fixed address in the server's configuration`);
    else if (serverAddress !== address)
      problems.push(`hosts: ${name} maps to ${serverAddress} in the server's configuration, not ${address}`);
  }
  return problems;
}

function describeRule(rule: HostRule): string {
  return rule.ports.map((port) => formatHostPort(rule.host, port)).join(', ');
}

/** The entries of `allow` as one line, for messages. */
export function describeEntries(allow: readonly AllowEntry[]): string {
  if (allow.length === 0) return 'nothing';
  return allow
    .map((entry) => (isRegistryRule(entry) ? `registry:${entry.registry}` : describeRule(entry)))
    .join(', ');
}
