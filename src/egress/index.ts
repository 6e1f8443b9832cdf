export { createEgressProxy, DEFAULT_APPROVAL_WAIT_MS, DEFAULT_LIMITS } from './proxy.ts';
export type { EgressProxy, EgressProxyOptions, EgressSession } from './proxy.ts';
export type { ProxyLimits } from './handlers.ts';
export type { EgressMetrics } from './metrics.ts';
export type { CommandEgress } from './session-state.ts';
export { MAX_GRANTED_HOSTS } from './session-state.ts';
export {
  allowEntryProblem,
  DEFAULT_PORTS,
  formatRule,
  parseAllowEntry,
  REGISTRY_NAMES,
} from './allow-list.ts';
export type { AllowEntry, HostRule, RegistryName, RegistryRule } from './allow-list.ts';
export { forbiddenAddressReason } from './address.ts';
export { grantedHostRules } from './host-grants.ts';
export { describeEntries, hostCovered, ruleCovered, widerThan } from './narrow.ts';
export { MIN_SECRET_VALUE_LENGTH, PLACEHOLDER_PREFIX } from './secrets.ts';
export type { EgressSecretSpec } from './secrets.ts';
export { DEFAULT_SANDBOX_CA_PATHS, DEFAULT_SANDBOX_ENDPOINT } from './environment.ts';
export { SESSION_FILES } from './session-files.ts';
export { sweepEgressLeftovers } from './sweep.ts';
export type { SandboxCaPaths, SandboxEndpoint } from './environment.ts';
export { ALLOW_VIAS, NETWORK_MODES, REFUSAL_CODES } from './types.ts';
export type {
  AllowVia,
  EgressAnswer,
  EgressAsk,
  EgressDecider,
  EgressDialer,
  EgressEvent,
  EgressEventSink,
  EgressNetworkPolicy,
  EgressProtocol,
  EgressResolver,
  EgressSessionPolicy,
  EgressSessionSummary,
  NetworkMode,
  RefusalCode,
  RefusedHost,
  RegistryLocation,
  RegistryResolver,
} from './types.ts';
