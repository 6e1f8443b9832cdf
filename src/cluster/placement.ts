/**
 * Where a new session goes: the node the request names, else the least-loaded live node. Load is the
 * share of a node's session limit in use, counting sessions being created (reservations, and
 * placements this node has sent and not yet seen answered); between equally loaded nodes the one with
 * more free memory wins, and a node whose free memory is below the session's memory limit is passed
 * over while another can take it.
 */
import { AirlockError } from '../errors/index.ts';
import type { NodeRow, NodeTable } from './node-table.ts';

export interface PlacementTarget {
  readonly nodeId: string;
  readonly url: string;
}

export interface Placement {
  /** The node for a new session; `requested` is the request's `node`, `memoryBytes` its memory limit. */
  choose(requested: string | undefined, memoryBytes: number): Promise<PlacementTarget>;
  /** Counts a placement in flight to `nodeId` until the returned function is called. */
  inFlight(nodeId: string): () => void;
}

export interface PlacementOptions {
  readonly table: NodeTable;
  readonly failureTimeoutMs: number;
}

export function createPlacement(options: PlacementOptions): Placement {
  const { table } = options;
  const sending = new Map<string, number>();
  const fresh = (node: NodeRow): boolean =>
    node.state === 'live' && node.heartbeatAgeS * 1000 < options.failureTimeoutMs;

  return {
    async choose(requested, memoryBytes) {
      const nodes = (await table.list()).filter(fresh);
      if (requested !== undefined) {
        const named = nodes.find((node) => node.nodeId === requested);
        if (named === undefined) {
          throw new AirlockError(
            'INVALID_ARGUMENT',
            `no live node ${JSON.stringify(requested.slice(0, 80))} in the cluster; live nodes: ${nodes.map((node) => node.nodeId).join(', ') || 'none'}`,
            { field: 'node' },
          );
        }
        return { nodeId: named.nodeId, url: named.advertiseUrl };
      }
      const reserved = await table.reservations();
      const scored = nodes
        .map((node) => {
          const busy = node.sessions + (reserved.get(node.nodeId) ?? 0) + (sending.get(node.nodeId) ?? 0);
          return {
            node,
            full: busy >= node.maxSessions,
            short: node.memoryTotalBytes > 0 && node.memoryFreeBytes < memoryBytes,
            load: busy / Math.max(1, node.maxSessions),
            free: node.memoryTotalBytes > 0 ? node.memoryFreeBytes / node.memoryTotalBytes : 0,
          };
        })
        .filter((entry) => !entry.full)
        .sort(
          (a, b) =>
            Number(a.short) - Number(b.short) ||
            a.load - b.load ||
            b.free - a.free ||
            a.node.nodeId.localeCompare(b.node.nodeId),
        );
      const best = scored[0]?.node;
      if (best === undefined) {
        throw new AirlockError('LIMIT_REACHED', 'every live node of the cluster is at its session limit', {
          scope: 'cluster',
        });
      }
      return { nodeId: best.nodeId, url: best.advertiseUrl };
    },
    inFlight(nodeId) {
      sending.set(nodeId, (sending.get(nodeId) ?? 0) + 1);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        const left = (sending.get(nodeId) ?? 1) - 1;
        if (left <= 0) sending.delete(nodeId);
        else sending.set(nodeId, left);
      };
    },
  };
}
