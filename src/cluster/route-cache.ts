/**
 * Where a request for a session goes, without a store query per request. A session never moves: it
 * runs, and ends, on the run of a node (its `owner`) that created it. So the owner of a session is
 * remembered once the store has named it, and what that owner's node is now (its id, its address,
 * whether it is live) comes from the snapshot of the node table taken on every heartbeat round
 * (membership.ts). A node declared lost is seen as lost from the next snapshot on, and its sessions
 * are then answered here from the store (410 SESSION_ENDED with the reason), as without the cache.
 *
 * The store is asked instead, as for every request before, whenever the cache cannot answer for the
 * present: a session not seen yet (an unknown one is never remembered, so it stays 404), an owner the
 * snapshot does not hold (a node that registered again since, whose earlier sessions have ended), no
 * snapshot newer than `maxSnapshotAgeMs` (this node's heartbeats are not getting through), and after a
 * forward along a remembered route found its node unreachable (`distrust`), until the next snapshot.
 *
 * What the store says has ended is final, and newer than any snapshot read in flight: a session it
 * names ended is forgotten (every later request for it is answered from the store, 410), and a run it
 * names lost or left is never routed to again, whatever a snapshot read before that says (a run does
 * not come back: a node that starts again registers a new run).
 */
import type { NodeRoute, NodeTable, SessionRoute } from './node-table.ts';

/** Sessions whose owner is remembered at most; past it the oldest are forgotten (and read again). */
const DEFAULT_MAX_SESSIONS = 100_000;
/** Runs remembered as gone at most; past it the oldest are forgotten (a snapshot names them lost anyway). */
const MAX_GONE_OWNERS = 10_000;

export interface RouteCacheOptions {
  readonly table: Pick<NodeTable, 'routeOfSession'>;
  /** How old a snapshot may be and still be used; older, the store is asked (the failure timeout). */
  readonly maxSnapshotAgeMs: number;
  readonly maxSessions?: number;
  readonly now?: () => number;
}

export interface RouteCache {
  /** The session's route: from the cache when it can answer for the present, else from the store. */
  routeOfSession(sessionId: string): Promise<SessionRoute | null>;
  /**
   * The node table as a heartbeat round read it, the read having begun at `readAt` (default now). A
   * read begun before the last `distrust` is not used: it may say live a node another control plane
   * declared lost meanwhile (it was read before that committed), and would route to it again.
   */
  nodes(routes: readonly NodeRoute[], readAt?: number): void;
  /** A forward along a cached route did not reach its node: ask the store until the next snapshot. */
  distrust(): void;
  /** Whether `routeOfSession(sessionId)` would answer without the store now (tests, metrics). */
  cached(sessionId: string): boolean;
}

export function createRouteCache(options: RouteCacheOptions): RouteCache {
  const now = options.now ?? Date.now;
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  /** Session id → the owner the store named for it (it never changes). Oldest first. */
  const owners = new Map<string, string>();
  let snapshot: { readonly byOwner: ReadonlyMap<string, NodeRoute>; readonly takenAt: number } | null = null;
  let distrustedAt = Number.NEGATIVE_INFINITY;
  /** Runs the store named lost or left: no snapshot routes to them again. Oldest first. */
  const goneOwners = new Set<string>();

  const markGone = (owner: string): void => {
    if (goneOwners.has(owner)) return;
    if (goneOwners.size >= MAX_GONE_OWNERS) {
      const oldest = goneOwners.values().next().value;
      if (oldest !== undefined) goneOwners.delete(oldest);
    }
    goneOwners.add(owner);
  };

  const nodeOf = (sessionId: string): NodeRoute | undefined => {
    if (snapshot === null || now() - snapshot.takenAt > options.maxSnapshotAgeMs) return undefined;
    const owner = owners.get(sessionId);
    if (owner === undefined || goneOwners.has(owner)) return undefined;
    return snapshot.byOwner.get(owner);
  };

  const remember = (sessionId: string, owner: string): void => {
    if (owners.has(sessionId)) return;
    if (owners.size >= maxSessions) {
      const oldest = owners.keys().next().value;
      if (oldest !== undefined) owners.delete(oldest);
    }
    owners.set(sessionId, owner);
  };

  return {
    async routeOfSession(sessionId) {
      const node = nodeOf(sessionId);
      if (node !== undefined) {
        return {
          sessionId,
          owner: node.owner,
          // Not known without the store: the session's node answers for an ended one from the same
          // store (410 SESSION_ENDED with its reason), just as this node would.
          sessionActive: true,
          nodeId: node.nodeId,
          advertiseUrl: node.advertiseUrl,
          nodeState: node.state,
        };
      }
      const route = await options.table.routeOfSession(sessionId);
      if (route === null) return route;
      // The store's word is newer than any snapshot read in flight, and an ending is final: a
      // snapshot read before another node declared the run lost must not route this session to it
      // again (it would be answered 503 NODE_UNREACHABLE instead of 410 SESSION_ENDED).
      if (route.nodeState !== null && route.nodeState !== 'live') markGone(route.owner);
      if (route.sessionActive) remember(sessionId, route.owner);
      else owners.delete(sessionId);
      return route;
    },
    nodes(routes, readAt = now()) {
      if (readAt <= distrustedAt) return;
      snapshot = { byOwner: new Map(routes.map((route) => [route.owner, route])), takenAt: now() };
    },
    distrust() {
      snapshot = null;
      distrustedAt = now();
    },
    cached: (sessionId) => nodeOf(sessionId) !== undefined,
  };
}

// Security limitations:
// - Only the store names a session's owner, and only the node table says where that owner runs: no
//   header or other part of a request is remembered as a route. Ids that the store does not know are
//   never remembered, so requests for made-up ids cannot fill the cache (and it is bounded anyway).
// - A node declared lost by another node is seen as lost here up to one heartbeat round later; in
//   between, a request for one of its sessions is forwarded to it as before it was declared lost, and
//   when it does not answer the store is asked at once (front-door.ts): a session the store says has
//   ended is answered 410 SESSION_ENDED, one it still holds live 503 NODE_UNREACHABLE. A request whose
//   body was streamed (over 64 KiB, or of unknown length) is answered 503 in that case: its body is
//   partly read by then. A snapshot whose read began before that failure is not used.
