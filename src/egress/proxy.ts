/**
 * The egress proxy: one per control plane, listening on Unix sockets only (one per session, never a TCP
 * port), so the socket a connection arrives on is the session it belongs to and nothing on the network
 * can reach it. The sandbox side is bridged to a session's socket; the proxy speaks HTTP proxy
 * (absolute-form requests and CONNECT) and SOCKS5 on it, told apart by the first byte.
 */
import { lookup } from 'node:dns/promises';
import { chmod } from 'node:fs/promises';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import { AirlockError } from '../errors/index.ts';
import type { SessionCa } from './ca.ts';
import type { HostRule } from './allow-list.ts';
import { createBulkRelay } from './bulk-relay.ts';
import { startRecord } from './connection-record.ts';
import {
  caBundle,
  DEFAULT_SANDBOX_CA_PATHS,
  DEFAULT_SANDBOX_ENDPOINT,
  proxyEnvironment,
  type SandboxCaPaths,
  type SandboxEndpoint,
} from './environment.ts';
import { handleSocks, type ProxyLimits, type SessionRuntime } from './handlers.ts';
import { createProxyServers } from './proxy-servers.ts';
import { createEgressMetrics, type EgressMetrics } from './metrics.ts';
import { compileNetwork } from './network-policy.ts';
import { writeRawRefusal } from './refusal-response.ts';
import { createSessionSecrets } from './secrets.ts';
import { parseTargetHost } from './host-name.ts';
import { createSessionState, grantHost, type CommandEgress, type GrantedPair } from './session-state.ts';
import {
  clearStaleSocket,
  prepareDirectory,
  prepareSessionDirectory,
  readPrivateState,
  removeSessionFiles,
  sessionPaths,
  writePrivateState,
  writePublicFile,
  type PrivateState,
  type SessionPaths,
} from './session-files.ts';
import { socksReply, SocksReply, SOCKS_VERSION } from './socks5.ts';
import type {
  EgressDecider,
  EgressDialer,
  EgressEventSink,
  EgressNetworkPolicy,
  EgressResolver,
  EgressSessionPolicy,
  EgressSessionSummary,
  RefusedHost,
  RegistryResolver,
} from './types.ts';
import { createDefaultDialer } from './upstream.ts';

export const DEFAULT_LIMITS: ProxyLimits = Object.freeze({
  maxConnectionsPerSession: 64,
  bytesPerSecondPerSession: undefined,
  idleTimeoutMs: 300_000,
  headersTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  maxHeaderBytes: 16 * 1024,
  maxBodyRewriteBytes: 1024 * 1024,
});

/** router.approvalWait's default: how long a connection waits for a person in ask mode. */
export const DEFAULT_APPROVAL_WAIT_MS = 15_000;

export interface EgressProxyOptions {
  /** Where the session sockets (and CA files) live; created 0700. Keep it short: socket paths are limited. */
  readonly directory: string;
  readonly decide?: EgressDecider;
  readonly approvalWaitMs?: number;
  readonly onEvent?: EgressEventSink;
  /** Called with anything the proxy could not handle itself (a throwing event sink, an internal bug). */
  readonly onError?: (error: unknown) => void;
  readonly resolve?: EgressResolver;
  readonly dial?: EgressDialer;
  readonly registries?: RegistryResolver;
  /** Roots for verifying upstreams the proxy opens TLS to; default the system's. */
  readonly upstreamCa?: string | readonly string[];
  readonly limits?: Partial<ProxyLimits>;
  readonly sandboxEndpoint?: SandboxEndpoint;
  readonly sandboxCaPaths?: SandboxCaPaths;
  /** Egress metrics are registered here (the control plane's registry); default a registry of its own. */
  readonly metricsRegistry?: Registry;
  /** The metrics of a proxy this one replaces (a restart): its counters go on, nothing is registered twice. */
  readonly metrics?: EgressMetrics;
  /**
   * Mode of each session socket; default 0666: sandboxes connect as host uids of their own, and the
   * session's directory is what keeps everyone else out (see session-files.ts).
   */
  readonly socketMode?: number;
  /**
   * The sandbox helper binary (`airlock-helper`, which has the relay mode): pass-through tunnels that
   * carry bulk are handed to relay processes of it (bulk-relay.ts). Undefined: the proxy relays all.
   */
  readonly relayHelperPath?: string;
}

export interface EgressSession {
  readonly sessionId: string;
  /** The host-side Unix socket the sandbox's bridge connects to. */
  readonly socketPath: string;
  /**
   * The directory to mount into the sandbox (read-only): the socket and, with secrets, the CA files,
   * under the names in SESSION_FILES. It stays the same directory across proxy restarts.
   */
  readonly directory: string;
  /** For the sandboxed command: proxy variables, CA variables (with secrets), placeholders by secret name. */
  readonly env: Readonly<Record<string, string>>;
  /** With secrets only: the session CA (PEM), and host files the bridge mounts at sandboxCaPaths. */
  readonly ca?: {
    readonly certificatePem: string;
    readonly certificatePath: string;
    readonly bundlePath: string;
  };
  readonly placeholders: ReadonlyArray<{ readonly name: string; readonly placeholder: string }>;
  /** The secret values, for the router's output redactor (`createRedactor({ secrets })`). */
  readonly redactions: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  update(network: EgressNetworkPolicy): Promise<void>;
  /**
   * Hosts a person granted for the rest of the session (approving a command with scope `host`):
   * connections to them pass as if listed, in every mode, whatever later changes the list.
   */
  grantRules(rules: readonly HostRule[]): void;
  /** Hosts refused while `commandId` runs, for its result; call `end()` when it finishes. */
  trackCommand(commandId: string): CommandEgress;
  refusedHosts(): readonly RefusedHost[];
  /** Counts, grants, pending asks and refused hosts, as they are now. */
  summary(): EgressSessionSummary;
  /**
   * A person allows `host` (a name or an IP address) on `port` for the rest of the session, as an ask
   * answered with `remember` does. INVALID_ARGUMENT for a malformed host, LIMIT_REACHED past
   * MAX_GRANTED_HOSTS. Returns the host as the proxy compares it (lower case, no brackets).
   */
  grant(host: string, port: number): string;
  /** Withdraws a grant (the host as `grant` returned it); false when there was none. */
  revokeGrant(host: string, port: number): boolean;
  /** Pairs granted one by one (asks answered with remember, `grant`), for a restarted proxy. */
  grantedPairs(): readonly GrantedPair[];
  /** The session is over: its socket, files and connections go. */
  close(): Promise<void>;
}

export interface EgressProxy {
  openSession(sessionId: string, policy: EgressSessionPolicy): Promise<EgressSession>;
  updateSession(sessionId: string, network: EgressNetworkPolicy): Promise<void>;
  session(sessionId: string): EgressSession | undefined;
  readonly metrics: EgressMetrics;
  /** Stops every session socket and connection; keeps the files a restarted proxy reuses. */
  close(): Promise<void>;
}

interface OpenSession {
  readonly handle: EgressSession;
  readonly runtime: SessionRuntime;
  readonly server: NetServer;
  readonly sockets: Set<Socket>;
  readonly paths: SessionPaths;
}

const defaultResolver: EgressResolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

/** Answers a connection past the session's limit in its own protocol, and records the refusal. */
function refuseOverLimit(limits: ProxyLimits, open: OpenSession, socket: Socket, first: Buffer): void {
  const message = `airlock: this session already has ${limits.maxConnectionsPerSession} connections open through the proxy; close some and retry`;
  const record = startRecord(
    { ...open.runtime.record, state: open.runtime.state },
    first[0] === SOCKS_VERSION ? 'socks' : 'http',
  );
  record.refused('connection_limit', message);
  record.finish();
  if (first[0] === SOCKS_VERSION)
    socket.end(Buffer.concat([Buffer.from([SOCKS_VERSION, 0]), socksReply(SocksReply.notAllowed)]));
  else writeRawRefusal(socket, 429, 'connection_limit', message);
}

/** The session CA's certificate and where its files are, for a session with secrets. */
function caFiles(ca: SessionCa | undefined, paths: SessionPaths): Pick<EgressSession, 'ca'> {
  if (ca === undefined) return {};
  return {
    ca: {
      certificatePem: ca.material.certificatePem,
      certificatePath: paths.caCertificate,
      bundlePath: paths.caBundle,
    },
  };
}

/** The session's CA, made or reloaded, with its certificate published for the sandbox. */
async function loadSessionCa(
  sessionId: string,
  saved: PrivateState | undefined,
  paths: SessionPaths,
): Promise<SessionCa> {
  // Loaded on first use: the X.509 library takes a noticeable part of a second to load, and only
  // sessions with secrets need it (the CLI, which imports this stage for its config, never does).
  const { createSessionCa } = await import('./ca.ts');
  const ca = await createSessionCa(sessionId, saved?.ca);
  await writePublicFile(paths.caCertificate, ca.material.certificatePem);
  await writePublicFile(paths.caBundle, caBundle(ca.material.certificatePem));
  return ca;
}

function listen(server: NetServer, socketPath: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function createEgressProxy(options: EgressProxyOptions): EgressProxy {
  const limits: ProxyLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const metrics = options.metrics ?? createEgressMetrics(options.metricsRegistry);
  const onError = options.onError ?? (() => {});
  const sessions = new Map<string, OpenSession>();
  const runtimes = new WeakMap<object, SessionRuntime>();
  const relay =
    options.relayHelperPath === undefined
      ? undefined
      : createBulkRelay({ helperPath: options.relayHelperPath, idleTimeoutMs: limits.idleTimeoutMs });
  const { outerServer, innerServer, context } = createProxyServers({
    relay,
    limits,
    resolve: options.resolve ?? defaultResolver,
    dial: options.dial ?? createDefaultDialer(),
    approvalWaitMs: options.approvalWaitMs ?? DEFAULT_APPROVAL_WAIT_MS,
    upstreamCa: options.upstreamCa,
    runtimes,
    onError,
  });

  function accept(open: OpenSession, socket: Socket): void {
    const { runtime } = open;
    open.sockets.add(socket);
    metrics.connectionsOpen(1);
    const withinLimit = runtime.state.tryOpenConnection();
    socket.on('close', () => {
      open.sockets.delete(socket);
      metrics.connectionsOpen(-1);
      if (withinLimit) runtime.state.connectionClosed();
    });
    socket.on('error', () => socket.destroy());
    // Until it says what it is, a connection gets the header timeout: a silent client holds nothing long.
    const silent = () => socket.destroy();
    socket.setTimeout(limits.headersTimeoutMs, silent);
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.off('timeout', silent);
      if (!withinLimit) return refuseOverLimit(limits, open, socket, first);
      if (first[0] === SOCKS_VERSION) return handleSocks(context, runtime, socket, first);
      socket.pause();
      socket.unshift(first);
      runtimes.set(socket, runtime);
      outerServer.emit('connection', socket);
      socket.resume();
    });
  }

  async function openSession(sessionId: string, policy: EgressSessionPolicy): Promise<EgressSession> {
    const paths = sessionPaths(options.directory, sessionId);
    if (sessions.has(sessionId))
      throw new AirlockError('INVALID_ARGUMENT', `egress session ${sessionId} is already open`, {
        sessionId,
      });
    await prepareDirectory(options.directory);
    await prepareSessionDirectory(paths);
    const network = await compileNetwork(policy.network, options.registries);
    const saved = await readPrivateState(paths.privateState);
    const seed = saved?.placeholderSeed ?? randomBytes(32).toString('hex');
    const secrets = createSessionSecrets(policy.secrets ?? [], seed);
    const ca = secrets.length > 0 ? await loadSessionCa(sessionId, saved, paths) : undefined;
    const privateState: PrivateState = {
      placeholderSeed: seed,
      ...(ca === undefined ? {} : { ca: ca.material }),
    };
    await writePrivateState(paths.privateState, privateState);
    const state = createSessionState({
      sessionId,
      network,
      secrets,
      maxConnections: limits.maxConnectionsPerSession,
      bytesPerSecond: limits.bytesPerSecondPerSession,
      approvalWaitMs: context.approvalWaitMs,
      decide: options.decide,
    });
    const runtime: SessionRuntime = {
      state,
      ca,
      record: { sink: options.onEvent, metrics, onSinkError: onError },
    };
    await clearStaleSocket(paths.socket);
    const server = createNetServer();
    const placeholders = secrets.map((secret) => ({ name: secret.name, placeholder: secret.placeholder }));
    const handle: EgressSession = {
      sessionId,
      socketPath: paths.socket,
      directory: paths.sessionDir,
      env: proxyEnvironment(
        options.sandboxEndpoint ?? DEFAULT_SANDBOX_ENDPOINT,
        ca === undefined ? undefined : (options.sandboxCaPaths ?? DEFAULT_SANDBOX_CA_PATHS),
        placeholders,
      ),
      ...caFiles(ca, paths),
      placeholders,
      redactions: secrets.map((secret) => ({ name: secret.name, value: secret.value })),
      update: (next) => updateSession(sessionId, next),
      grantRules: (rules) => state.grantRules(rules),
      trackCommand: (commandId) => state.trackCommand(commandId),
      refusedHosts: () => state.refusedHosts(),
      summary: () => state.summary(),
      grant: (host, port) => grantHost(state, host, port),
      revokeGrant: (host, port) => {
        const parsed = parseTargetHost(host);
        return parsed.ok && state.revokeGrant(parsed.value.host, port);
      },
      grantedPairs: () => state.grantedPairs(),
      close: () => closeSession(sessionId, true),
    };
    const open: OpenSession = { handle, runtime, server, sockets: new Set(), paths };
    server.on('connection', (socket) => accept(open, socket));
    await listen(server, paths.socket);
    server.on('error', onError);
    await chmod(paths.socket, options.socketMode ?? 0o666);
    sessions.set(sessionId, open);
    return handle;
  }

  async function updateSession(sessionId: string, network: EgressNetworkPolicy): Promise<void> {
    const open = sessions.get(sessionId);
    if (open === undefined)
      throw new AirlockError('NOT_FOUND', `no egress session ${sessionId}`, { sessionId });
    // Compiled in full before it replaces the old list: a bad entry changes nothing.
    open.runtime.state.setNetwork(await compileNetwork(network, options.registries));
  }

  async function closeSession(sessionId: string, removeFiles: boolean): Promise<void> {
    const open = sessions.get(sessionId);
    if (open === undefined) return;
    sessions.delete(sessionId);
    open.runtime.state.close();
    const closed = new Promise<void>((resolve) => open.server.close(() => resolve()));
    for (const socket of open.sockets) socket.destroy();
    await closed;
    if (removeFiles) await removeSessionFiles(open.paths);
  }

  return {
    openSession,
    updateSession,
    session: (sessionId) => sessions.get(sessionId)?.handle,
    metrics,
    async close() {
      await Promise.all([...sessions.keys()].map((sessionId) => closeSession(sessionId, false)));
      relay?.close();
      outerServer.close();
      innerServer.close();
    },
  };
}

/*
 * Security limitations
 * - Anyone who can connect to a session's socket speaks as that session. Its directory (0700, or
 *   0750 with the session's own gid once its sandbox driver let it in) keeps other host users out;
 *   each sandbox has only its own session directory mounted. Processes of this user (and root) can
 *   connect to any session's socket.
 * - The CA key and the placeholder seed are kept 0600 beside the socket so a restarted proxy can serve
 *   the same sandbox; they are removed when the session closes, not when the proxy stops.
 * - Connections are limited per session; the number of sessions is bounded by the control plane.
 * - Header timeouts on the handed-over connections rely on Node starting its connection checks on
 *   'listening' (emitted by hand above); the slow-client test fails if that ever changes.
 */
