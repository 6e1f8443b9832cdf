export {
  APPROVAL_OUTCOMES,
  CHECKPOINT_OUTCOMES,
  COMMAND_STATUSES,
  MONITORED_RESOURCES,
  POLICY_DECISIONS,
  SESSION_END_REASONS,
} from './labels.ts';
export type {
  ApprovalOutcome,
  CheckpointOutcomeLabel,
  CommandStatus,
  MonitoredResource,
  PolicyDecisionLabel,
  SessionEndReason,
} from './labels.ts';
export { createMetrics } from './registry.ts';
export type { AirlockMetrics, CommandFinishedEvent, HttpRequestEvent, MetricsOptions } from './registry.ts';
export { createResourceMonitor, USAGE_HISTORY_SAMPLES } from './resource-monitor.ts';
export type {
  ResourceAlert,
  ResourceMonitor,
  ResourceMonitorOptions,
  ResourceSample,
  WatchTarget,
} from './resource-monitor.ts';
