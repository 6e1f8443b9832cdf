/**
 * Membership: this node's heartbeat in the store, the others' failure detection, and this node's own
 * health. Every `heartbeatIntervalMs` the node writes its heartbeat and load, then claims nodes whose
 * heartbeat is older than `failureTimeoutMs` (one UPDATE: each lost node is claimed by exactly one
 * survivor) and ends their sessions in the store.
 *
 * A node that cannot reach the database is unhealthy: it says why on /healthz and takes no new work.
 * The others will find it lost after `failureTimeoutMs` and end its sessions; so once it has been cut
 * off that long, or when the database tells it it was declared lost, it ends its own sessions too
 * (fencing: no sandbox keeps running for a session the store calls ended), registers again and is
 * healthy once its heartbeat goes through.
 */
import type { Logger } from 'pino';
import type { NodeLoad, NodeRoute, NodeRow, NodeTable } from './node-table.ts';

export type NodeHealth =
  | { readonly status: 'ok' }
  | { readonly status: 'unavailable'; readonly reason: string; readonly sinceMs: number };

export interface MembershipOptions {
  readonly table: NodeTable;
  readonly nodeId: string;
  readonly owner: string;
  readonly heartbeatIntervalMs: number;
  readonly failureTimeoutMs: number;
  /** Registers (or re-registers) this node; returns the owner of a previous run of it, if any. */
  readonly register: () => Promise<string | null>;
  readonly load: () => NodeLoad;
  /** Ends this node's live sessions (fencing); returns how many. */
  readonly endLocal: (reason: string) => Promise<number>;
  /** Ends, in the store, the sessions of a control plane that is gone; returns how many. */
  readonly endOwner: (owner: string, reason: string) => Promise<number>;
  readonly logger: Logger;
  /** The node table as each successful round leaves it, for routing requests (route-cache.ts). */
  readonly onNodes?: (routes: readonly NodeRoute[], readAt: number) => void;
  readonly onTick?: (outcome: { readonly ok: boolean; readonly lost: readonly NodeRow[] }) => void;
  readonly now?: () => number;
}

export interface Membership {
  /** Registers, ends what a previous run of this node left open, and starts the heartbeats. */
  start(): Promise<void>;
  health(): NodeHealth;
  /** Runs one heartbeat round now (tests, and the first one at start). */
  tick(): Promise<void>;
  /** Stops the heartbeats and marks the node as left. */
  stop(): Promise<void>;
}

export function createMembership(options: MembershipOptions): Membership {
  const { table, nodeId, owner, logger } = options;
  const now = options.now ?? Date.now;
  let health: NodeHealth = { status: 'ok' };
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  let fenced = false;

  const unhealthy = (reason: string): void => {
    health = {
      status: 'unavailable',
      reason,
      sinceMs: health.status === 'unavailable' ? health.sinceMs : now(),
    };
  };

  const fence = async (reason: string): Promise<void> => {
    const ended = await options.endLocal(reason);
    if (ended > 0) logger.error({ sessions: ended }, `cluster: ended this node's sessions: ${reason}`);
  };

  const endOthers = async (lost: readonly NodeRow[]): Promise<void> => {
    for (const node of lost) {
      logger.error({ node: node.nodeId, reason: node.lostReason }, 'cluster: node lost');
      const ended = await options.endOwner(
        node.owner,
        `node ${node.nodeId} was lost: ${node.lostReason ?? 'no heartbeat'}`,
      );
      logger.warn({ node: node.nodeId, sessions: ended }, "cluster: ended the lost node's sessions");
    }
    // Sessions of nodes claimed lost by a survivor that stopped before ending them all.
    for (const left of await table.ownersToEnd()) {
      await options.endOwner(left.owner, `node ${left.nodeId} was lost: ${left.lostReason ?? 'it stopped'}`);
    }
  };

  const round = async (): Promise<void> => {
    let lost: NodeRow[] = [];
    try {
      const state = await table.heartbeat(nodeId, owner, options.load());
      if (state !== 'live') {
        // The others declared this node lost (or another run took its name) and ended its sessions.
        await fence(
          state === null
            ? `another control plane registered as node ${nodeId}`
            : `the cluster declared node ${nodeId} lost: its heartbeats stopped reaching the database`,
        );
        const previous = await options.register();
        if (previous !== null) await options.endOwner(previous, `node ${nodeId} restarted`);
      }
      if (fenced) {
        // The sessions this node ended while cut off could not record it: the store still calls them
        // open. No new session started meanwhile (new work is refused while unhealthy).
        await options.endOwner(
          owner,
          `node ${nodeId} lost its database for longer than the cluster failure timeout`,
        );
      }
      health = { status: 'ok' };
      fenced = false;
      lost = await table.claimLost(options.failureTimeoutMs);
      await endOthers(lost);
      // After the lost nodes' sessions were ended: a request routed by this snapshot to the store
      // finds them ended, with the reason.
      if (options.onNodes !== undefined) {
        const readAt = Date.now();
        options.onNodes(await table.routes(), readAt);
      }
      options.onTick?.({ ok: true, lost });
    } catch (error) {
      const reason = `the store cannot be reached: ${error instanceof Error ? error.message : String(error)}`;
      if (health.status === 'ok') logger.error({ err: error }, `cluster: ${reason}`);
      unhealthy(reason);
      options.onTick?.({ ok: false, lost });
      if (health.status === 'unavailable' && !fenced && now() - health.sinceMs >= options.failureTimeoutMs) {
        // The others have found this node lost by now and ended its sessions in the store.
        fenced = true;
        await fence('this node lost its database for longer than the cluster failure timeout').catch(
          () => undefined,
        );
      }
    }
  };

  const tick = (): Promise<void> => {
    running ??= round().finally(() => {
      running = null;
    });
    return running;
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void tick().finally(schedule);
    }, options.heartbeatIntervalMs);
    timer.unref();
  };

  return {
    async start() {
      const previous = await options.register();
      if (previous !== null) {
        const ended = await options.endOwner(previous, `node ${nodeId} restarted`);
        if (ended > 0)
          logger.warn({ sessions: ended }, 'cluster: ended the sessions of an earlier run of this node');
      }
      await tick();
      schedule();
    },
    health: () => health,
    tick,
    async stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      await running;
      await table
        .leave(nodeId, owner)
        .catch((error: unknown) => logger.warn({ err: error }, 'cluster: could not leave'));
    },
  };
}
