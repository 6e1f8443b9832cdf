/** The control plane as a library: `createAirlock(options)` wires every stage from one configuration. */
export { createAirlock } from './create-airlock.ts';
export { maxCommandTimeoutMs } from './session-manager.ts';
export type { Airlock, CreateAirlockOptions } from './create-airlock.ts';
export { ACCESS_TOKEN_PREFIX, accessTokenDigest, createAccessTokens } from './access-tokens.ts';
export type { AccessTokenInfo, AccessTokens, CreateAccessTokenInput } from './access-tokens.ts';
export { anchorPathFor, auditKeyPath } from './audit-protection.ts';
export { CLUSTER_SECRET_FILE } from './cluster-wiring.ts';
export { loadTreeSitterWasm } from './tree-sitter-wasm.ts';
export type { CommandEvent } from '../router/index.ts';
export type {
  AirlockApprovals,
  AirlockAudit,
  AirlockCommands,
  AirlockSessions,
  Session,
  UsageSample,
} from './views.ts';
export type { SessionInfo } from './session-info.ts';
export type { AirlockEgress, EgressOverview, EgressTarget } from './egress-grants.ts';
export type { SessionBoundary } from './session-boundary.ts';
