/**
 * The cluster's rows in the store (cluster_nodes, cluster_reservations; see src/store/pg-schema.ts):
 * every statement the cluster runs, in one place. Times that decide anything (a heartbeat's age, a
 * reservation's expiry) are the database's clock, never a node's.
 */
import { AirlockError } from '../errors/index.ts';
import type { PostgresStore } from '../store/index.ts';

export type NodeState = 'live' | 'lost' | 'left';

export interface NodeRow {
  readonly nodeId: string;
  readonly advertiseUrl: string;
  readonly owner: string;
  readonly state: NodeState;
  readonly startedAt: string;
  readonly heartbeatAt: string;
  /** Seconds since the last heartbeat, by the database's clock. */
  readonly heartbeatAgeS: number;
  readonly lostReason: string | null;
  /** Sessions the store holds active for this node's current run. */
  readonly sessions: number;
  readonly maxSessions: number;
  readonly memoryFreeBytes: number;
  readonly memoryTotalBytes: number;
}

export interface NodeRegistration {
  readonly nodeId: string;
  readonly advertiseUrl: string;
  readonly owner: string;
  readonly maxSessions: number;
  readonly auditKey: { readonly keyId: string; readonly publicKeyPem: string; readonly mac: string };
}

export interface NodeLoad {
  readonly sessions: number;
  readonly memoryFreeBytes: number;
  readonly memoryTotalBytes: number;
}

export interface RegisteredKey {
  readonly nodeId: string;
  readonly keyId: string;
  readonly publicKeyPem: string;
  readonly mac: string;
}

/** Where a session (or an output's session) lives: its node, and whether the session is still active. */
export interface SessionRoute {
  readonly sessionId: string;
  /** The run (control plane) that created the session: it never changes (route-cache.ts). */
  readonly owner: string;
  readonly sessionActive: boolean;
  readonly nodeId: string | null;
  readonly advertiseUrl: string | null;
  readonly nodeState: NodeState | null;
}

/** A node as the routing of requests needs it: which run it is, where, and whether it is live. */
export interface NodeRoute {
  readonly nodeId: string;
  readonly owner: string;
  readonly advertiseUrl: string;
  readonly state: NodeState;
}

/** Serialises reservations against the cluster-wide session limit. */
const RESERVATION_LOCK = 0x41_49_52_53; // "AIRS"
/** A reservation outlives a crash of the node that took it by at most this long. */
const RESERVATION_TTL_S = 300;

const NODE_COLUMNS =
  'n.node_id, n.advertise_url, n.owner, n.state, ' +
  `to_char(n.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS started_at, ` +
  `to_char(n.heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS heartbeat_at, ` +
  'extract(epoch FROM clock_timestamp() - n.heartbeat_at)::float8 AS heartbeat_age_s, n.lost_reason, ' +
  "(SELECT count(*) FROM sessions s WHERE s.owner = n.owner AND s.state = 'active')::int AS sessions, " +
  'n.max_sessions, n.memory_free_bytes, n.memory_total_bytes';

function nodeOf(row: Record<string, unknown>): NodeRow {
  return {
    nodeId: String(row['node_id']),
    advertiseUrl: String(row['advertise_url']),
    owner: String(row['owner']),
    state: String(row['state']) as NodeState,
    startedAt: String(row['started_at']),
    heartbeatAt: String(row['heartbeat_at']),
    heartbeatAgeS: Number(row['heartbeat_age_s']),
    lostReason: row['lost_reason'] === null ? null : String(row['lost_reason']),
    sessions: Number(row['sessions']),
    maxSessions: Number(row['max_sessions']),
    memoryFreeBytes: Number(row['memory_free_bytes']),
    memoryTotalBytes: Number(row['memory_total_bytes']),
  };
}

export interface NodeTable {
  /** Registers (or re-registers) a node as live; returns the owner of its previous run, if another. */
  register(node: NodeRegistration): Promise<string | null>;
  /** Writes this node's heartbeat; returns its state, or null when its row is gone or another run holds it. */
  heartbeat(nodeId: string, owner: string, load: NodeLoad): Promise<NodeState | null>;
  /** Marks live nodes whose heartbeat is older than `timeoutMs` as lost; returns them (each claimed once). */
  claimLost(timeoutMs: number): Promise<NodeRow[]>;
  /** Live nodes (and lost ones) whose sessions are still active in the store, for a sweep after a crash. */
  ownersToEnd(): Promise<{ nodeId: string; owner: string; lostReason: string | null }[]>;
  leave(nodeId: string, owner: string): Promise<void>;
  list(): Promise<NodeRow[]>;
  /** Every node's run, address and state (one light query, on the control connection). */
  routes(): Promise<NodeRoute[]>;
  routeOfSession(sessionId: string): Promise<SessionRoute | null>;
  routeOfOutput(outputId: string): Promise<SessionRoute | null>;
  /** Takes a slot under the cluster-wide limit, or refuses with LIMIT_REACHED. */
  reserve(id: string, nodeId: string, maxTotal: number): Promise<void>;
  release(id: string): Promise<void>;
  /** Reservations in flight per node (sessions being created). */
  reservations(): Promise<Map<string, number>>;
  keys(): Promise<RegisteredKey[]>;
}

/** On the control connection: the heartbeat round reads it, and must not queue behind the commits. */
async function readRoutes(store: PostgresStore): Promise<NodeRoute[]> {
  const rows = await store.controlQuery(
    'read node routes',
    'SELECT node_id, owner, advertise_url, state FROM cluster_nodes',
  );
  return rows.map((row) => ({
    nodeId: String(row['node_id']),
    owner: String(row['owner']),
    advertiseUrl: String(row['advertise_url']),
    state: String(row['state']) as NodeState,
  }));
}

export function createNodeTable(store: PostgresStore): NodeTable {
  const routeBy = async (from: string, where: string, id: string): Promise<SessionRoute | null> => {
    const [row] = await store.query(
      'find the node of a session',
      'SELECT s.id AS session_id, s.owner AS session_owner, s.state AS session_state, n.node_id, n.advertise_url, n.state AS node_state ' +
        `FROM ${from} LEFT JOIN cluster_nodes n ON n.owner = s.owner WHERE ${where} LIMIT 1`,
      [id],
    );
    if (row === undefined) return null;
    return {
      sessionId: String(row['session_id']),
      owner: String(row['session_owner']),
      sessionActive: row['session_state'] === 'active',
      nodeId: row['node_id'] === null ? null : String(row['node_id']),
      advertiseUrl: row['advertise_url'] === null ? null : String(row['advertise_url']),
      nodeState: row['node_state'] === null ? null : (String(row['node_state']) as NodeState),
    };
  };

  return {
    async register(node) {
      return store.transaction('register the node', async (client) => {
        const previous = (
          await client.query<{ owner: string }>(
            'SELECT owner FROM cluster_nodes WHERE node_id = $1 FOR UPDATE',
            [node.nodeId],
          )
        ).rows[0];
        await client.query(
          'INSERT INTO cluster_nodes (node_id, advertise_url, owner, state, started_at, heartbeat_at, max_sessions, ' +
            'audit_key_id, audit_public_key, audit_key_mac) ' +
            "VALUES ($1, $2, $3, 'live', now(), now(), $4, $5, $6, $7) ON CONFLICT (node_id) DO UPDATE SET " +
            "advertise_url = $2, owner = $3, state = 'live', started_at = now(), heartbeat_at = now(), " +
            'lost_reason = NULL, max_sessions = $4, audit_key_id = $5, audit_public_key = $6, audit_key_mac = $7',
          [
            node.nodeId,
            node.advertiseUrl,
            node.owner,
            node.maxSessions,
            node.auditKey.keyId,
            node.auditKey.publicKeyPem,
            node.auditKey.mac,
          ],
        );
        return previous !== undefined && previous.owner !== node.owner ? previous.owner : null;
      });
    },
    async heartbeat(nodeId, owner, load) {
      const [row] = await store.controlQuery(
        'write the heartbeat',
        "UPDATE cluster_nodes SET heartbeat_at = CASE WHEN state = 'live' THEN clock_timestamp() ELSE heartbeat_at END, " +
          'sessions = $3, memory_free_bytes = $4, memory_total_bytes = $5 ' +
          'WHERE node_id = $1 AND owner = $2 RETURNING state',
        [nodeId, owner, load.sessions, load.memoryFreeBytes, load.memoryTotalBytes],
      );
      return row === undefined ? null : (String(row['state']) as NodeState);
    },
    async claimLost(timeoutMs) {
      const rows = await store.controlQuery(
        'detect lost nodes',
        "UPDATE cluster_nodes n SET state = 'lost', lost_reason = 'no heartbeat for ' || " +
          "round(extract(epoch FROM clock_timestamp() - n.heartbeat_at)::numeric, 1) || ' s (last at ' || " +
          `to_char(n.heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ')' ` +
          "WHERE n.state = 'live' AND n.heartbeat_at < clock_timestamp() - make_interval(secs => $1) " +
          `RETURNING ${NODE_COLUMNS}`,
        [timeoutMs / 1000],
      );
      return rows.map(nodeOf);
    },
    async ownersToEnd() {
      const rows = await store.query(
        'find sessions of lost nodes',
        'SELECT DISTINCT n.node_id, n.owner, n.lost_reason FROM cluster_nodes n ' +
          "JOIN sessions s ON s.owner = n.owner AND s.state = 'active' WHERE n.state <> 'live'",
      );
      return rows.map((row) => ({
        nodeId: String(row['node_id']),
        owner: String(row['owner']),
        lostReason: row['lost_reason'] === null ? null : String(row['lost_reason']),
      }));
    },
    async leave(nodeId, owner) {
      await store.query(
        'leave the cluster',
        "UPDATE cluster_nodes SET state = 'left', lost_reason = 'stopped' WHERE node_id = $1 AND owner = $2",
        [nodeId, owner],
      );
    },
    async list() {
      return (
        await store.query('list nodes', `SELECT ${NODE_COLUMNS} FROM cluster_nodes n ORDER BY n.node_id`)
      ).map(nodeOf);
    },
    routes: () => readRoutes(store),
    routeOfSession: (sessionId) => routeBy('sessions s', 's.id = $1', sessionId),
    routeOfOutput: (outputId) =>
      routeBy('outputs o JOIN sessions s ON s.id = o.session_id', 'o.id = $1', outputId),
    async reserve(id, nodeId, maxTotal) {
      await store.transaction('reserve a session', async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [RESERVATION_LOCK]);
        await client.query('DELETE FROM cluster_reservations WHERE expires_at < clock_timestamp()');
        const counted = (
          await client.query<{ total: number }>(
            "SELECT ((SELECT count(*) FROM sessions s JOIN cluster_nodes n ON n.owner = s.owner AND n.state = 'live' " +
              "WHERE s.state = 'active') + (SELECT count(*) FROM cluster_reservations))::int AS total",
          )
        ).rows[0];
        const total = counted?.total ?? 0;
        if (total >= maxTotal) {
          throw new AirlockError(
            'LIMIT_REACHED',
            `${maxTotal} sessions are already open across the cluster (sessions.maxTotal); destroy one or raise the limit`,
            { limit: maxTotal, scope: 'cluster' },
          );
        }
        await client.query(
          'INSERT INTO cluster_reservations (id, node_id, expires_at) VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3))',
          [id, nodeId, RESERVATION_TTL_S],
        );
      });
    },
    async release(id) {
      await store.query('release a session reservation', 'DELETE FROM cluster_reservations WHERE id = $1', [
        id,
      ]);
    },
    async reservations() {
      const rows = await store.query(
        'count reservations',
        'SELECT node_id, count(*)::int AS n FROM cluster_reservations WHERE expires_at > clock_timestamp() GROUP BY node_id',
      );
      return new Map(rows.map((row) => [String(row['node_id']), Number(row['n'])]));
    },
    async keys() {
      const rows = await store.query(
        'read node keys',
        'SELECT node_id, audit_key_id, audit_public_key, audit_key_mac FROM cluster_nodes WHERE audit_key_id IS NOT NULL',
      );
      return rows.map((row) => ({
        nodeId: String(row['node_id']),
        keyId: String(row['audit_key_id']),
        publicKeyPem: String(row['audit_public_key']),
        mac: String(row['audit_key_mac']),
      }));
    },
  };
}
