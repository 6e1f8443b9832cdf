/**
 * Several control planes on one PostgreSQL store: membership and failure detection (heartbeats in
 * the store), forwarding of requests to the node that runs their session, placement of new sessions,
 * a cluster-wide session limit, approvals announced to every node (LISTEN/NOTIFY), and the audit keys
 * of every node. See docs/scaling.md.
 */
export { createClusterNode } from './cluster-node.ts';
export type { ClusterEvent, ClusterNode, ClusterNodeOptions, ClusterSessions } from './cluster-node.ts';
export { trustedClusterKeys } from './audit-keys.ts';
export { CLUSTER_HEADER, NODE_HEADER, NODE_URL_HEADER } from './hop.ts';
export type { NodeHealth } from './membership.ts';
export { createNodeTable } from './node-table.ts';
export type { NodeRow, NodeState, NodeTable } from './node-table.ts';
export { clusterSecretOf, readClusterSecret } from './secret.ts';
export type { ClusterSecret } from './secret.ts';
export type { SessionTokenIssuer } from './session-tokens.ts';
