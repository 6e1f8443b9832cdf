export {
  CONFIG_FILE_NAME,
  MAX_ALIAS_COUNT,
  MAX_CONFIG_BYTES,
  defaultConfig,
  parseConfig,
  parseConfigObject,
  resolveConfig,
} from './load.ts';
export type { ResolveConfigOptions, ResolvedConfig } from './load.ts';
export type { ConfigIssue } from './issues.ts';
export {
  processEnvironment,
  readAirlockEnvironment,
  storeFromEnvironment,
  storeLocationFor,
} from './environment.ts';
export type { AirlockEnvironment, EnvironmentVariables } from './environment.ts';
export {
  modelEnvironmentVariables,
  modelKeySecrets,
  modelProviders,
  readModelEnvironment,
} from './model-environment.ts';
export type { ModelEndpoint, ModelEnvironment, ModelProviderName } from './model-environment.ts';
export { mergeSandboxOverrides } from './overrides.ts';
export { mergeNetworkOverrides } from './network-overrides.ts';
export type { NetworkOverrides } from './network-overrides.ts';
export { parseNetworkInput, parseSecretsInput } from './session-network.ts';
export type { SecretRequest } from './session-network.ts';
export { applyPipelineFile, readPipelineFile } from './pipeline-file.ts';
export type { AppliedPipeline, PipelineFile } from './pipeline-file.ts';
export { createRegistryResolver, defaultRunner, locationOf, pipConfigUrls } from './registries.ts';
export type { ProgramRunner, RegistryLocation, RegistryResolverOptions } from './registries.ts';
export { resolveSecrets } from './secrets.ts';
export type { ResolvedSecret } from './secrets.ts';
export type { FlagIssue, SandboxOverrides } from './overrides.ts';
export { airlockConfigSchema, decisionNames, knownKeys, presetNames } from './schema.ts';
export { configKeyDocs, environmentVariableDocs } from './reference.ts';
export type { ConfigKeyDoc, EnvironmentVariableDoc } from './reference.ts';
export type {
  AgentConfig,
  AirlockConfig,
  AuditConfig,
  ClusterConfig,
  DecisionName,
  EgressConfig,
  NetworkConfig,
  PolicyConfig,
  PolicyRuleConfig,
  PresetName,
  ReviewerConfig,
  RouterConfig,
  SandboxConfig,
  SecretConfig,
  SecretSource,
  ServerConfig,
  SessionsConfig,
  StoreConfig,
} from './schema.ts';
export {
  describeStoreLocation,
  driverNames,
  MAX_PIDS,
  MIN_MEMORY_BYTES,
  parseStoreLocation,
  redactStoreUrl,
} from './fields.ts';
export type { DriverName, StoreLocation } from './fields.ts';
export {
  MAX_CPUS,
  MAX_DURATION_MS,
  MIN_CPUS,
  describeValue,
  formatByteSize,
  formatDuration,
  parseByteSize,
  parseCount,
  parseCpus,
  parseDuration,
  parseRate,
} from './units.ts';
export type { ParseOptions, Rate, ValueProblemDetails } from './units.ts';
export type { DeepReadonly } from './freeze.ts';
export { isValidatedConfig } from './validated.ts';
