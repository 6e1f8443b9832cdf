/**
 * The control plane's egress: one proxy for all its sessions, wired to the rest. Each session with a
 * network gets a proxy session before its sandbox is made (its socket directory is mounted into the
 * sandbox, its variables and placeholders go into the sandbox's environment, its secret values into
 * the session's redactor); questions about hosts off the list become approval requests; every
 * connection becomes an audit event; the command pipeline learns which hosts were refused while a
 * command ran. A session with `network: none` gets nothing: no socket, no bridge, no variables.
 */
import { rmdir } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import type { AirlockConfig, EnvironmentVariables } from '../config/index.ts';
import { createRegistryResolver, resolveSecrets } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import { createEgressProxy, grantedHostRules, SESSION_FILES, sweepEgressLeftovers } from '../egress/index.ts';
import type {
  EgressDecider,
  EgressMetrics,
  HostRule,
  EgressProxy,
  EgressResolver,
  EgressSession,
  EgressSessionPolicy,
  RegistryLocation,
  RegistryName,
  RegistryResolver,
} from '../egress/index.ts';
import type { AirlockMetrics } from '../metrics/index.ts';
import type { Approvals, EgressTracking } from '../router/index.ts';
import {
  EGRESS_BRIDGE_HOST,
  EGRESS_BRIDGE_PORT,
  EGRESS_CA_BUNDLE_IN_SANDBOX,
  EGRESS_CA_CERTIFICATE_IN_SANDBOX,
} from '../sandbox/index.ts';
import type { SandboxEgress } from '../sandbox/index.ts';
import { defaultHelperPath, isExecutable } from '../sandbox/index.ts';
import type {
  LiveSession,
  SessionAttachment,
  SessionCreateOptions,
  SessionNetwork,
  SessionNetworkInput,
} from '../sessions/index.ts';
import { NO_NETWORK } from '../sessions/index.ts';
import type { AuditEventInput, Store } from '../store/index.ts';
import { createEgressDecider } from './egress-approvals.ts';
import { egressDirectory } from './egress-directory.ts';
import { createEgressEventWriter } from './egress-events.ts';
import { createEgressGrants } from './egress-grants.ts';
import type { EgressGrants, OpenNetwork } from './egress-grants.ts';
import { formatAllow, sessionNetworkPolicy, sessionSecrets } from './egress-policy.ts';

export interface ControlPlaneEgressOptions {
  readonly config: AirlockConfig;
  readonly env: EnvironmentVariables;
  readonly home: string;
  readonly store: Store;
  readonly approvals: Approvals;
  readonly metrics: AirlockMetrics;
  readonly logger: Logger;
  /** Where `registry:*` entries lead; default the host's own npm and pip configuration. */
  readonly registries?: RegistryResolver;
  /**
   * The sandbox helper, whose relay mode carries bulk tunnels (see EgressProxyOptions.relayHelperPath);
   * default the one `npm ci` builds. Without an executable helper the proxy relays everything itself.
   */
  readonly relayHelperPath?: string;
  /** Directory for the proxy's sockets; default `egressDirectory(home)`. */
  readonly directory?: string;
  /** Upstream roots and the resolver, when not the host's (see CreateAirlockOptions.egress). */
  readonly world?: { readonly upstreamCa?: string | readonly string[]; readonly resolve?: EgressResolver };
}

export interface ControlPlaneEgress extends EgressTracking, EgressGrants {
  /** The session manager's hook: opens the session's proxy side before its sandbox is made. */
  attach(sessionId: string, input: SessionCreateOptions): Promise<SessionAttachment>;
  /** Lets the egress writer redact a session's events (the session exists only once attached). */
  bindRedactor(sessionId: string, redact: (text: string) => string): void;
  /**
   * Told, with every `host:port` the proxy now lets a session through to because a person said so,
   * each time that changes: an ask answered with remember, a grant or its withdrawal, a restart.
   */
  onGrantsChanged(listener: (sessionId: string, granted: readonly string[]) => void): void;
  /** Sets the text of running commands for the approval requests egress questions make. */
  setCommandText(lookup: (commandId: string) => Promise<string | undefined>): void;
  /** A live change of a session's list, within the server's; the proxy enforces it at once. */
  update(session: LiveSession, network: SessionNetworkInput): Promise<SessionNetwork>;
  /** Replaces the proxy with a new one serving every open session again (same sockets, placeholders, CA). */
  restart(): Promise<void>;
  /** Removes what control planes that are gone left in the proxy's directory; how many sessions. */
  sweep(): Promise<number>;
  /** Stops the proxy once sessions are ended; flushes the audit events. */
  close(): Promise<void>;
}

interface OpenEgress extends OpenNetwork {
  policy: EgressSessionPolicy;
  network: SessionNetwork;
  redact: (text: string) => string;
  /** What people granted, given again to a restarted proxy. */
  granted: HostRule[];
}

const unredacted = (text: string): string => text;

export function createControlPlaneEgress(options: ControlPlaneEgressOptions): ControlPlaneEgress {
  const { config, logger } = options;
  const directory = options.directory ?? egressDirectory(options.home);
  const events = createEgressEventWriter(options.store, logger);
  const registries = cachedRegistries(options.registries ?? createRegistryResolver({ env: options.env }));
  const open = new Map<string, OpenEgress>();
  let commandText: (commandId: string) => Promise<string | undefined> = () => Promise.resolve(undefined);
  let grantsChanged: (sessionId: string, granted: readonly string[]) => void = () => undefined;
  /**
   * The policy learns what the proxy lets through, so a command naming a host a person granted at the
   * boundary is not asked about again (and one whose grant was withdrawn is). Read from the proxy
   * itself: it alone knows whether a grant was kept (it holds at most MAX_GRANTED_HOSTS).
   */
  function announce(sessionId: string): void {
    const summary = proxy.session(sessionId)?.summary();
    if (summary !== undefined) grantsChanged(sessionId, summary.granted);
  }
  const decide = announcingGrants(
    createEgressDecider({
      approvals: options.approvals,
      approvalWaitMs: config.router.approvalWaitMs,
      commandText: (commandId) => commandText(commandId),
    }),
    announce,
  );

  const helper = options.relayHelperPath ?? defaultHelperPath;
  const relayHelperPath = isExecutable(helper) ? helper : undefined;
  function makeProxy(metrics: EgressMetrics | undefined): EgressProxy {
    return createEgressProxy({
      directory,
      decide,
      approvalWaitMs: config.router.approvalWaitMs,
      limits: config.egress,
      registries,
      onEvent: (event) => events.write(event, open.get(event.sessionId)?.redact ?? unredacted),
      onError: (error) => logger.error({ err: error }, 'egress proxy error'),
      // Where every driver puts the bridge and the CA files: the variables commands get name these.
      sandboxEndpoint: { host: EGRESS_BRIDGE_HOST, port: EGRESS_BRIDGE_PORT },
      sandboxCaPaths: { certificate: EGRESS_CA_CERTIFICATE_IN_SANDBOX, bundle: EGRESS_CA_BUNDLE_IN_SANDBOX },
      ...(relayHelperPath === undefined ? {} : { relayHelperPath }),
      ...(options.world?.upstreamCa === undefined ? {} : { upstreamCa: options.world.upstreamCa }),
      ...(options.world?.resolve === undefined ? {} : { resolve: options.world.resolve }),
      ...(metrics === undefined ? { metricsRegistry: options.metrics.registry } : { metrics }),
    });
  }
  let proxy = makeProxy(undefined);

  async function attach(sessionId: string, input: SessionCreateOptions): Promise<SessionAttachment> {
    const network = sessionNetworkPolicy(config.sandbox.network, input.network);
    const asked = input.secrets !== undefined && input.secrets.length > 0;
    if (network.mode === 'none') {
      if (asked) {
        throw new AirlockError('INVALID_ARGUMENT', 'secrets need a network: this session has network: none', {
          field: 'secrets',
        });
      }
      return { env: {}, network: NO_NETWORK, secrets: [], close: () => Promise.resolve() };
    }
    const secrets = resolveSecrets(sessionSecrets(config.sandbox.secrets, input.secrets), options.env);
    const policy: EgressSessionPolicy = { network, secrets };
    const handle = await proxy.openSession(sessionId, policy);
    let state: OpenEgress;
    try {
      state = { policy, network: await networkOf(policy, registries), redact: unredacted, granted: [] };
    } catch (error) {
      await handle.close();
      throw error;
    }
    open.set(sessionId, state);
    return {
      env: handle.env,
      egress: sandboxEgress(handle),
      network: state.network,
      secrets: handle.redactions,
      async grantHosts(hosts, command) {
        const rules = await grantedHostRules(hosts, command, registries);
        state.granted.push(...rules);
        proxy.session(sessionId)?.grantRules(rules);
      },
      close: async () => {
        await proxy.session(sessionId)?.close();
        // Connections cut by the close report as they end: written with the session's redactor.
        await events.flush();
        open.delete(sessionId);
      },
    };
  }

  return {
    attach,
    bindRedactor(sessionId, redact) {
      const state = open.get(sessionId);
      if (state !== undefined) state.redact = redact;
    },
    onGrantsChanged(listener) {
      grantsChanged = listener;
    },
    setCommandText(lookup) {
      commandText = lookup;
    },
    track(session, commandId) {
      return proxy.session(session.id)?.trackCommand(commandId);
    },
    async update(session, input) {
      const state = open.get(session.id);
      const network = sessionNetworkPolicy(config.sandbox.network, input);
      if (state === undefined) {
        if (network.mode === 'none') return NO_NETWORK;
        throw new AirlockError(
          'INVALID_ARGUMENT',
          `session ${session.id} was made without a network, so its sandbox has no way out to open: create a new session with one`,
          { sessionId: session.id },
        );
      }
      const policy: EgressSessionPolicy = { ...state.policy, network };
      const next = await networkOf(policy, registries);
      await proxy.updateSession(session.id, network);
      state.policy = policy;
      state.network = next;
      await options.store.commit({ events: [networkChanged(session.id, next)] });
      return next;
    },
    ...createEgressGrants({
      open,
      session: (sessionId) => proxy.session(sessionId),
      store: options.store,
      changed: announce,
    }),
    async restart() {
      const pairs = grantedPairsOf(proxy, open.keys());
      await proxy.close();
      proxy = makeProxy(proxy.metrics);
      for (const [sessionId, state] of open) {
        const reopened = await proxy.openSession(sessionId, state.policy);
        reopened.grantRules(state.granted);
        pairs.get(sessionId)?.forEach((pair) => reopened.grant(pair.host, pair.port));
        announce(sessionId);
      }
      logger.info({ sessions: open.size }, 'egress proxy restarted');
    },
    sweep: () => sweepEgressLeftovers(directory),
    async close() {
      await proxy.close();
      await events.flush();
      // Empty once every session is closed; another control plane sharing it keeps it.
      await rmdir(directory).catch(() => undefined);
    },
  };
}

/**
 * What people answered one by one lives in the proxy's memory: read before a restart and given to the
 * new proxy, so a restart neither asks anybody twice nor quietly takes back what they allowed.
 */
function grantedPairsOf(proxy: EgressProxy, sessionIds: Iterable<string>) {
  return new Map([...sessionIds].map((id) => [id, proxy.session(id)?.grantedPairs() ?? []]));
}

function networkChanged(sessionId: string, next: SessionNetwork): AuditEventInput {
  return {
    type: 'session.network_changed',
    sessionId,
    commandId: null,
    data: { mode: next.mode, allow: [...next.allow], hosts: { ...next.hosts } },
  };
}

/** `decide`, calling `announce` once the proxy has recorded an answer granting for the session. */
function announcingGrants(decide: EgressDecider, announce: (sessionId: string) => void): EgressDecider {
  return async (ask, signal) => {
    const answer = await decide(ask, signal);
    // The proxy records the grant once this answer reaches it, a few promise steps from here.
    if (answer === 'allow-session') setImmediate(() => announce(ask.sessionId));
    return answer;
  };
}

/** A session's network as SessionInfo and the policy see it, with the registries named by host. */
async function networkOf(policy: EgressSessionPolicy, registries: RegistryResolver): Promise<SessionNetwork> {
  const registryNames: Record<string, string[]> = {};
  for (const entry of policy.network.allow) {
    if (!('registry' in entry)) continue;
    const locations = await registries(entry.registry);
    registryNames[entry.registry] = locations.map((location) => `${location.host}:${location.port}`);
  }
  return Object.freeze({
    mode: policy.network.mode,
    allow: Object.freeze(formatAllow(policy.network.allow)),
    registryNames: Object.freeze(registryNames),
    hosts: Object.freeze({ ...policy.network.hosts }),
    secrets: Object.freeze(
      (policy.secrets ?? []).map((secret) => ({ name: secret.name, hosts: [...secret.hosts] })),
    ),
  });
}

/** The sandbox's way out: the session's directory on the host, its socket and CA files in it. */
function sandboxEgress(handle: EgressSession): SandboxEgress {
  return {
    directory: handle.directory,
    socket: basename(handle.socketPath),
    ...(handle.ca === undefined
      ? {}
      : { caCertificate: SESSION_FILES.caCertificate, caBundle: SESSION_FILES.caBundle }),
  };
}

/**
 * A registry's location asked once per control plane (it runs the package manager); a failure is
 * not kept, so a fixed configuration works without a restart.
 */
function cachedRegistries(resolve: RegistryResolver): RegistryResolver {
  const cache = new Map<RegistryName, Promise<readonly RegistryLocation[]>>();
  return (name) => {
    let found = cache.get(name);
    if (found === undefined) {
      found = resolve(name);
      cache.set(name, found);
      found.catch(() => cache.delete(name));
    }
    return found;
  };
}
