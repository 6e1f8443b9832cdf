/**
 * Which node a request is for, by its path alone: a session's (`/v1/sessions/ses_…/…`) or an
 * output's (`/v1/outputs/…`) node, as the route cache and the store say. Shared by the cluster's
 * Fastify layer (http-layer.ts) and its fast path in front of Fastify (front-door.ts), so both route
 * alike.
 */
import type { NodeTable, SessionRoute } from './node-table.ts';
import type { RouteCache } from './route-cache.ts';

export const SESSION_PATH = /^\/v1\/sessions\/(ses_[0-9a-f]{24})(?:\/|$)/;
const OUTPUT_PATH = /^\/v1\/outputs\/([^/]{1,200})$/;

export interface RequestTargetOptions {
  readonly table: Pick<NodeTable, 'routeOfOutput'>;
  readonly routes: RouteCache;
  /** Whether this node runs the session now. */
  readonly isLocal: (sessionId: string) => boolean;
}

/** The session `path` names, if it names one (no lookup). */
export function sessionOfPath(path: string): string | undefined {
  return SESSION_PATH.exec(path)?.[1];
}

/** Whether `path` names a session or an output at all (no lookup). */
export function namesSessionOrOutput(path: string): boolean {
  return SESSION_PATH.test(path) || OUTPUT_PATH.test(path);
}

/** The route of the session or output `path` names; null when it names none, or a session of this node. */
export async function routeOfPath(options: RequestTargetOptions, path: string): Promise<SessionRoute | null> {
  const session = SESSION_PATH.exec(path)?.[1];
  if (session !== undefined) return options.isLocal(session) ? null : options.routes.routeOfSession(session);
  const output = OUTPUT_PATH.exec(path)?.[1];
  if (output === undefined) return null;
  let id: string;
  try {
    id = decodeURIComponent(output);
  } catch {
    return null;
  }
  return options.table.routeOfOutput(id);
}

/** Where a route sends a request: another live node, or null when this node answers it itself. */
export function forwardTarget(
  route: SessionRoute | null,
  self: string,
): { readonly nodeId: string; readonly url: string } | null {
  if (route === null || !route.sessionActive || route.nodeId === null || route.nodeId === self) return null;
  // A session of a node that is not live any more is answered here from the store (410 once ended).
  if (route.nodeState !== 'live' || route.advertiseUrl === null) return null;
  return { nodeId: route.nodeId, url: route.advertiseUrl };
}
