/**
 * One control plane as a node of a cluster: the parts of this folder put together around the shared
 * PostgreSQL store. createAirlock makes it (before the session manager and approvals, which take its
 * hooks), `attach` hands it the session manager, the HTTP server installs its layer, and `join` (once
 * the server listens and the node's address is known) registers the node and starts its heartbeats.
 */
import { randomBytes } from 'node:crypto';
import { freemem, hostname, totalmem } from 'node:os';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ClusterConfig } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import type { AuditPublicKey, AuditSigningKey, PostgresStore } from '../store/index.ts';
import { keyRegistration, trustedClusterKeys } from './audit-keys.ts';
import { createForwarder } from './forward.ts';
import { installFrontDoor } from './front-door.ts';
import { forwarded, installClusterLayer } from './http-layer.ts';
import { createApprovalListener, type ApprovalListener } from './listener.ts';
import { createMembership, type Membership, type NodeHealth } from './membership.ts';
import { createNodeTable, type NodeRow, type NodeTable } from './node-table.ts';
import { createPlacement } from './placement.ts';
import { createRouteCache } from './route-cache.ts';
import { readClusterSecret, type ClusterSecret } from './secret.ts';
import { createSessionTokenIssuer, type SessionTokenIssuer } from './session-tokens.ts';

export interface ClusterNodeOptions {
  readonly store: PostgresStore;
  /** The database URL (with its credentials), for the LISTEN connection. */
  readonly url: string;
  readonly config: ClusterConfig;
  /** The secret file when the configuration names none: AIRLOCK_HOME/cluster-secret. */
  readonly defaultSecretFile: string;
  /** This run's owner string, as its sessions carry it. */
  readonly owner: string;
  readonly maxSessions: number;
  readonly maxTotalSessions?: number | undefined;
  readonly auditKey: AuditSigningKey;
  readonly defaultMemoryBytes: number;
  readonly logger: Logger;
  readonly onEvent?: (event: ClusterEvent) => void;
}

export type ClusterEvent =
  | { readonly kind: 'heartbeat'; readonly ok: boolean; readonly lost: number }
  | { readonly kind: 'forward'; readonly outcome: 'forwarded' | 'unreachable' | 'placed' };

/** What the cluster needs of the session manager. */
export interface ClusterSessions {
  live(): readonly { readonly id: string }[];
  /** Whether this node runs the session now: asked for every request that names a session. */
  isLive(id: string): boolean;
  endAll(code: 'node_lost', detail?: string): Promise<number>;
}

export interface ClusterNode {
  /** This node's id; the configured one, else `host:port` once joined. */
  nodeId(): string;
  /** For the session manager: a slot under `sessions.maxTotal` (absent without one). */
  readonly admit: (() => Promise<() => Promise<void>>) | undefined;
  /** Session tokens every node of the cluster can check. */
  readonly sessionTokens: SessionTokenIssuer;
  /** For approvals: decisions announced by any node. */
  decisions(wake: (approvalId: string | null) => void): () => void;
  attach(sessions: ClusterSessions, endOwner: (owner: string, reason: string) => Promise<number>): void;
  /**
   * Adds the forwarding layer to the HTTP server: before its routes, and a fast path before Fastify
   * itself (front-door.ts), which hands requests to Fastify while `closing()` says the server stops.
   */
  install(app: FastifyInstance, server: { readonly closing: () => boolean }): void;
  /** Registers the node at the address it listens on and starts its heartbeats. */
  join(listening: { readonly host: string; readonly port: number }): Promise<void>;
  health(): NodeHealth;
  nodes(): Promise<NodeRow[]>;
  /** The audit keys of every node, as the cluster secret vouches for them. */
  trustedKeys(): Promise<AuditPublicKey[]>;
  close(): Promise<void>;
}

export function createClusterNode(options: ClusterNodeOptions): ClusterNode {
  const { config, store, logger } = options;
  const secret: ClusterSecret = readClusterSecret(config.secretFile ?? options.defaultSecretFile);
  const table: NodeTable = createNodeTable(store);
  let nodeId = config.nodeId ?? '';
  /** This node's advertised origin once joined, when clients are told it (cluster.directClients). */
  let clientNodeUrl: string | null = null;
  let sessions: ClusterSessions | null = null;
  let endOwner: ((owner: string, reason: string) => Promise<number>) | null = null;
  let membership: Membership | null = null;
  const listener: ApprovalListener = createApprovalListener(options.url, logger);
  const placement = createPlacement({ table, failureTimeoutMs: config.failureTimeoutMs });
  // A snapshot older than the failure timeout (this node's rounds are failing) may call live a node
  // the others have declared lost since: the store is asked instead.
  const routes = createRouteCache({ table, maxSnapshotAgeMs: config.failureTimeoutMs });
  const { maxTotalSessions } = options;

  const admit =
    maxTotalSessions === undefined
      ? undefined
      : async () => {
          const id = `res_${randomBytes(12).toString('hex')}`;
          await table.reserve(id, nodeId, maxTotalSessions);
          return () => table.release(id).catch(() => undefined);
        };

  return {
    nodeId: () => nodeId,
    admit,
    sessionTokens: createSessionTokenIssuer(secret),
    decisions: (wake) => listener.subscribe(wake),
    attach(attached, ending) {
      sessions = attached;
      endOwner = ending;
    },
    install(app, server) {
      const forwarder = createForwarder({ secret, nodeId: () => nodeId });
      const health = (): NodeHealth => membership?.health() ?? { status: 'ok' };
      const isLocal = (id: string): boolean => sessions?.isLive(id) ?? false;
      const onForward = (outcome: 'forwarded' | 'unreachable' | 'placed'): void =>
        options.onEvent?.({ kind: 'forward', outcome });
      const replayedBodies = new WeakMap<IncomingMessage, Buffer>();
      installClusterLayer(app, {
        nodeId: () => nodeId,
        secret,
        table,
        routes,
        forwarder,
        placement,
        health,
        isLocal,
        defaultMemoryBytes: options.defaultMemoryBytes,
        nodeUrl: () => clientNodeUrl,
        onForward,
        replayedBodies,
      });
      installFrontDoor(app.server, {
        nodeId: () => nodeId,
        table,
        routes,
        forwarder,
        health,
        isLocal,
        closing: server.closing,
        onForward: (outcome) => forwarded({ routes, onForward }, outcome),
        replayedBodies,
      });
    },
    async join(listening) {
      if (sessions === null || endOwner === null)
        throw new AirlockError('INTERNAL', 'cluster: join before attach');
      const wildcard = listening.host === '0.0.0.0' || listening.host === '::';
      if (config.advertiseUrl === undefined && wildcard) {
        throw new AirlockError(
          'INVALID_CONFIG',
          `cluster.advertiseUrl is required when listening on ${listening.host}: the other nodes need an address to reach this one`,
          { key: 'cluster.advertiseUrl' },
        );
      }
      const shown = listening.host.includes(':') ? `[${listening.host}]` : listening.host;
      const advertiseUrl = config.advertiseUrl ?? `http://${shown}:${listening.port}`;
      if (nodeId === '') nodeId = `${hostname()}:${listening.port}`;
      const live = sessions;
      const ending = endOwner;
      const register = (): Promise<string | null> =>
        table.register({
          nodeId,
          advertiseUrl,
          owner: options.owner,
          maxSessions: options.maxSessions,
          auditKey: keyRegistration(nodeId, options.auditKey, secret),
        });
      membership = createMembership({
        table,
        nodeId,
        owner: options.owner,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        failureTimeoutMs: config.failureTimeoutMs,
        register,
        load: () => ({
          sessions: live.live().length,
          memoryFreeBytes: freemem(),
          memoryTotalBytes: totalmem(),
        }),
        endLocal: (reason) => live.endAll('node_lost', reason),
        endOwner: ending,
        logger,
        onNodes: (nodes, readAt) => routes.nodes(nodes, readAt),
        onTick: ({ ok, lost }) => options.onEvent?.({ kind: 'heartbeat', ok, lost: lost.length }),
      });
      await membership.start();
      if (config.directClients) clientNodeUrl = new URL(advertiseUrl).origin;
      logger.info({ node: nodeId, advertiseUrl }, 'cluster: joined');
    },
    health: () => membership?.health() ?? { status: 'ok' },
    nodes: () => table.list(),
    async trustedKeys() {
      const trusted = await trustedClusterKeys(table, secret);
      for (const refused of trusted.refused) {
        logger.error(
          { node: refused.nodeId },
          `cluster: not trusting the audit key of node ${refused.nodeId}: ${refused.reason}`,
        );
      }
      return trusted.keys;
    },
    async close() {
      await membership?.stop();
      await listener.close();
    },
  };
}
