/**
 * A session's network and secrets from what its creator asked for, never wider than the server's
 * configuration: the same `network` object (a mode at most as open, hosts and ports the server's list
 * covers, the server's own fixed addresses) and secrets by name among the configured ones (their
 * hosts narrowed, their source unchanged). Anything wider is refused with every problem named
 * (INVALID_ARGUMENT), before a sandbox exists.
 */
import type { NetworkConfig, SecretConfig, SecretRequest } from '../config/index.ts';
import { parseNetworkInput, parseSecretsInput } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import { hostCovered, parseAllowEntry, widerThan } from '../egress/index.ts';
import type { AllowEntry } from '../egress/index.ts';
import type { SessionNetworkInput, SessionSecretInput } from '../sessions/index.ts';

function wider(what: string, problems: readonly string[]): AirlockError {
  return new AirlockError(
    'INVALID_ARGUMENT',
    `this session's ${what} is wider than the server's configuration allows (sandbox.${what} in airlock.yaml):\n  ${problems.join('\n  ')}`,
    { field: what, problems: [...problems] },
  );
}

/**
 * The network a session asked for, checked against the server's. What it leaves out is the
 * server's: `{ mode: 'allowlist' }` keeps the server's list and fixed addresses, and narrows only
 * the mode; nothing asked for means the server's network as it is.
 */
export function sessionNetworkPolicy(
  server: NetworkConfig,
  requested: SessionNetworkInput | undefined,
): NetworkConfig {
  if (requested === undefined) return server;
  const parsed = parseNetworkInput(
    typeof requested === 'object' && requested !== null && !Array.isArray(requested)
      ? {
          mode: requested.mode ?? server.mode,
          allow: requested.allow ?? formatAllow(server.allow),
          hosts: requested.hosts ?? server.hosts,
        }
      : requested,
  );
  const problems = widerThan(server, parsed);
  if (problems.length > 0) throw wider('network', problems);
  return parsed;
}

/** The configured secrets a session gets: all of them by default, else those it names, narrowed. */
export function sessionSecrets(
  server: readonly SecretConfig[],
  requested: readonly SessionSecretInput[] | undefined,
): SecretConfig[] {
  if (requested === undefined) return [...server];
  const asked: SecretRequest[] = parseSecretsInput(requested);
  const problems: string[] = [];
  const chosen: SecretConfig[] = [];
  const seen = new Set<string>();
  for (const request of asked) {
    const configured = server.find((secret) => secret.name === request.name);
    if (configured === undefined) {
      problems.push(`secret ${request.name} is not one the server's configuration names`);
      continue;
    }
    if (seen.has(request.name)) problems.push(`secret ${request.name} is asked for twice`);
    seen.add(request.name);
    const source = configured.source;
    if (
      (request.fromEnv !== undefined && !('fromEnv' in source && source.fromEnv === request.fromEnv)) ||
      (request.value !== undefined && !('value' in source && source.value === request.value))
    ) {
      problems.push(
        `secret ${request.name}: its value comes from the server's configuration, not the session`,
      );
      continue;
    }
    // Ports do not matter for a secret (the allow-list decides those): its hosts are compared by name.
    const allowed = hostNames(configured.hosts);
    const hosts = request.hosts ?? configured.hosts;
    for (const host of hosts) {
      const [name] = hostNames([host]);
      if (name === undefined || !allowed.some((pattern) => hostCovered(pattern, name)))
        problems.push(
          `secret ${request.name} may not be sent to ${host} (the server allows ${configured.hosts.join(', ')})`,
        );
    }
    chosen.push({ name: configured.name, source, hosts: [...hosts] });
  }
  if (problems.length > 0) throw wider('secrets', problems);
  return chosen;
}

function hostNames(hosts: readonly string[]): string[] {
  return hosts.flatMap((host) => {
    const parsed = parseAllowEntry(host);
    return parsed.ok && !('registry' in parsed.value) ? [parsed.value.host] : [];
  });
}

/** Allow entries as a person writes them: `api.example.test`, `host:8443`, `registry:npm`. */
export function formatAllow(allow: readonly AllowEntry[]): string[] {
  return allow.flatMap((entry) => {
    if ('registry' in entry) return [`registry:${entry.registry}`];
    const defaults = entry.ports.length === 2 && entry.ports.includes(80) && entry.ports.includes(443);
    return defaults ? [entry.host] : entry.ports.map((port) => `${entry.host}:${port}`);
  });
}
