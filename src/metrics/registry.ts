import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DriverName } from '../sandbox/index.ts';
import {
  APPROVAL_OUTCOMES,
  CHECKPOINT_OUTCOMES,
  COMMAND_STATUSES,
  DRIVER_NAMES,
  MONITORED_RESOURCES,
  OTHER,
  POLICY_DECISIONS,
  SESSION_END_REASONS,
  labelOrOther,
} from './labels.ts';
import type {
  ApprovalOutcome,
  CheckpointOutcomeLabel,
  CommandStatus,
  MonitoredResource,
  PolicyDecisionLabel,
  SessionEndReason,
} from './labels.ts';

export interface MetricsOptions {
  /**
   * Also export the Node process metrics (CPU, heap, event-loop lag, GC) on this registry. Meant for the
   * one server instance in a process: prom-client gives these collectors no way to stop, so each
   * instance that turns them on keeps a GC observer and an event-loop histogram alive for good.
   */
  processMetrics?: boolean;
}

export interface CommandFinishedEvent {
  status: CommandStatus;
  driver: DriverName;
  /** Total time in the router, from request to result. */
  durationMs: number;
  /** Time spent running in the sandbox; null when the command never ran (denied, pending, limited). */
  execMs: number | null;
}

export interface HttpRequestEvent {
  /**
   * The route's pattern (`/v1/sessions/:id`), never the raw path: ids in a label would make a series
   * per session. `unmatched` for requests no route took.
   */
  route: string;
  method: string;
  statusCode: number;
  durationMs: number;
}

/**
 * What the control plane records. Methods take plain values, never prom-client objects, so callers
 * cannot create series with arbitrary labels; a label value outside its fixed set is counted as `other`,
 * and a duration that is negative or not finite is dropped rather than poisoning the sum.
 */
export interface AirlockMetrics {
  commandFinished(event: CommandFinishedEvent): void;
  policyDecision(decision: PolicyDecisionLabel): void;
  approvalDecided(outcome: ApprovalOutcome, waitMs: number): void;
  sessionsActive(count: number): void;
  sessionCreated(driver: DriverName): void;
  sessionEnded(reason: SessionEndReason): void;
  sandboxCreateDuration(driver: DriverName, ms: number): void;
  resourceAlert(resource: MonitoredResource): void;
  auditWriteDuration(ms: number): void;
  /** An attempt to sign a checkpoint of the audit chain, by outcome. */
  auditCheckpoint(outcome: CheckpointOutcomeLabel): void;
  /** A write to the audit witness failed (the store still has the events; the sink retries). */
  auditWitnessFailure(): void;
  /** An HTTP API request answered (streams handed to SSE or MCP are not counted). */
  httpRequest(event: HttpRequestEvent): void;
  /** A cluster heartbeat round: whether it reached the store, and how many other nodes it found lost. */
  clusterHeartbeat(ok: boolean, nodesLost: number): void;
  /** A request handed to another node of the cluster, by outcome. */
  clusterForward(outcome: ClusterForwardOutcome): void;
  /** Labels every metric with this node's id (a cluster node, once it knows its id). */
  labelNode(nodeId: string): void;
  /** Every metric of this instance in the Prometheus text exposition format. */
  render(): Promise<string>;
  /**
   * Where a stage that keeps its own metrics registers them (the egress proxy, whose counters its
   * connections update), so they are rendered with these. Such a stage keeps the same rules: fixed
   * label sets, never a value from the sandbox.
   */
  readonly registry: Registry;
  /** The Content-Type header to send with `render()`'s text. */
  readonly contentType: string;
}

/** Seconds, 1 ms to 5 min: a command is anything from `true` to a long build. */
const COMMAND_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];
/** Seconds, 100 ms to 1 h: a person answering an approval prompt. */
const APPROVAL_WAIT_BUCKETS_S = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** Seconds, 5 ms to 30 s: namespace and cgroup set-up, or pulling a rootfs. */
const SANDBOX_CREATE_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds, 0.1 ms to 1 s: one appended (and possibly fsync'd) audit record. */
const AUDIT_WRITE_BUCKETS_S = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export const CLUSTER_FORWARD_OUTCOMES = ['forwarded', 'unreachable', 'placed'] as const;
export type ClusterForwardOutcome = (typeof CLUSTER_FORWARD_OUTCOMES)[number];

const withOther = <T extends string>(values: readonly T[]): readonly (T | typeof OTHER)[] => [
  ...values,
  OTHER,
];

/** Every metric, each naming `registry` explicitly. */
function defineMetrics(registry: Registry) {
  const registers = [registry];
  const commands = new Counter({
    name: 'airlock_commands_total',
    help: 'Commands that reached a final or pending outcome, by status and sandbox driver.',
    labelNames: ['status', 'driver'] as const,
    registers,
  });
  const commandDuration = new Histogram({
    name: 'airlock_command_duration_seconds',
    help: 'Total time a command spent in the router (policy, approval, sandbox, output).',
    labelNames: ['driver'] as const,
    buckets: COMMAND_BUCKETS_S,
    registers,
  });
  const execDuration = new Histogram({
    name: 'airlock_exec_duration_seconds',
    help: 'Time a command ran inside the sandbox.',
    labelNames: ['driver'] as const,
    buckets: COMMAND_BUCKETS_S,
    registers,
  });
  const policyDecisions = new Counter({
    name: 'airlock_policy_decisions_total',
    help: 'Policy evaluations by decision.',
    labelNames: ['decision'] as const,
    registers,
  });
  const approvals = new Counter({
    name: 'airlock_approvals_total',
    help: 'Approval requests that were decided, by outcome.',
    labelNames: ['outcome'] as const,
    registers,
  });
  const approvalWait = new Histogram({
    name: 'airlock_approval_wait_seconds',
    help: 'Time from an approval request to its decision.',
    labelNames: ['outcome'] as const,
    buckets: APPROVAL_WAIT_BUCKETS_S,
    registers,
  });
  const activeSessions = new Gauge({
    name: 'airlock_sessions_active',
    help: 'Sessions currently open.',
    registers,
  });
  const sessionsCreated = new Counter({
    name: 'airlock_sessions_created_total',
    help: 'Sessions created, by sandbox driver.',
    labelNames: ['driver'] as const,
    registers,
  });
  const sessionsEnded = new Counter({
    name: 'airlock_sessions_ended_total',
    help: 'Sessions ended, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const sandboxCreate = new Histogram({
    name: 'airlock_sandbox_create_duration_seconds',
    help: 'Time to create a sandbox, by driver.',
    labelNames: ['driver'] as const,
    buckets: SANDBOX_CREATE_BUCKETS_S,
    registers,
  });
  const resourceAlerts = new Counter({
    name: 'airlock_resource_alerts_total',
    help: 'Times a session crossed the alert threshold of one of its limits.',
    labelNames: ['resource'] as const,
    registers,
  });
  const auditWrite = new Histogram({
    name: 'airlock_audit_write_duration_seconds',
    help: 'Time to write one audit record.',
    buckets: AUDIT_WRITE_BUCKETS_S,
    registers,
  });
  const auditCheckpoints = new Counter({
    name: 'airlock_audit_checkpoints_total',
    help: 'Attempts to sign a checkpoint of the audit chain: signed, nothing_new, refused (the chain did not verify from the last signed head), failed.',
    labelNames: ['outcome'] as const,
    registers,
  });
  const auditWitnessFailures = new Counter({
    name: 'airlock_audit_witness_failures_total',
    help: 'Failed writes to the audit witness file; the store keeps every event and the sink catches up.',
    registers,
  });

  const httpRequests = new Histogram({
    name: 'airlock_http_request_duration_seconds',
    help: 'HTTP API requests by route pattern, method and status class, and how long they took.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: COMMAND_BUCKETS_S,
    registers,
  });
  const clusterHeartbeats = new Counter({
    name: 'airlock_cluster_heartbeats_total',
    help: 'Cluster heartbeat rounds of this node, by whether they reached the store.',
    labelNames: ['outcome'] as const,
    registers,
  });
  const clusterNodesLost = new Counter({
    name: 'airlock_cluster_nodes_lost_total',
    help: 'Other nodes this node found lost (no heartbeat within cluster.failureTimeout).',
    registers,
  });
  const clusterForwards = new Counter({
    name: 'airlock_cluster_forwards_total',
    help: 'Requests handed to the node that runs their session (or placed there), by outcome.',
    labelNames: ['outcome'] as const,
    registers,
  });
  return {
    clusterHeartbeats,
    clusterNodesLost,
    clusterForwards,
    commands,
    commandDuration,
    execDuration,
    policyDecisions,
    approvals,
    approvalWait,
    activeSessions,
    sessionsCreated,
    sessionsEnded,
    sandboxCreate,
    resourceAlerts,
    auditWrite,
    auditCheckpoints,
    auditWitnessFailures,
    httpRequests,
  };
}

/** A fresh registry per call: two control planes in one process never share a count. */
export function createMetrics(options: MetricsOptions = {}): AirlockMetrics {
  // Never prom-client's global `register`: every metric names this registry explicitly, because a
  // metric constructed without `registers` silently lands in the process-wide default.
  const registry = new Registry();
  const m = defineMetrics(registry);

  // Counters start at 0 for every allowed label value, so rate() and absence alerts work from the
  // first scrape instead of only after the first event of each kind. The sets are small and fixed.
  for (const status of withOther(COMMAND_STATUSES)) {
    for (const driver of withOther(DRIVER_NAMES)) m.commands.inc({ status, driver }, 0);
  }
  for (const decision of withOther(POLICY_DECISIONS)) m.policyDecisions.inc({ decision }, 0);
  for (const outcome of withOther(APPROVAL_OUTCOMES)) m.approvals.inc({ outcome }, 0);
  for (const driver of withOther(DRIVER_NAMES)) m.sessionsCreated.inc({ driver }, 0);
  for (const reason of withOther(SESSION_END_REASONS)) m.sessionsEnded.inc({ reason }, 0);
  for (const resource of withOther(MONITORED_RESOURCES)) m.resourceAlerts.inc({ resource }, 0);
  for (const outcome of withOther(CHECKPOINT_OUTCOMES)) m.auditCheckpoints.inc({ outcome }, 0);
  m.auditWitnessFailures.inc(0);
  for (const outcome of withOther(CLUSTER_FORWARD_OUTCOMES)) m.clusterForwards.inc({ outcome }, 0);
  m.activeSessions.set(0);

  if (options.processMetrics === true) collectDefaultMetrics({ register: registry });

  return {
    commandFinished(event) {
      const driver = labelOrOther(DRIVER_NAMES, event.driver);
      m.commands.inc({ status: labelOrOther(COMMAND_STATUSES, event.status), driver });
      const total = seconds(event.durationMs);
      if (total !== null) m.commandDuration.observe({ driver }, total);
      const exec = event.execMs === null ? null : seconds(event.execMs);
      if (exec !== null) m.execDuration.observe({ driver }, exec);
    },
    policyDecision(decision) {
      m.policyDecisions.inc({ decision: labelOrOther(POLICY_DECISIONS, decision) });
    },
    approvalDecided(outcome, waitMs) {
      const label = labelOrOther(APPROVAL_OUTCOMES, outcome);
      m.approvals.inc({ outcome: label });
      const wait = seconds(waitMs);
      if (wait !== null) m.approvalWait.observe({ outcome: label }, wait);
    },
    sessionsActive(count) {
      if (Number.isSafeInteger(count) && count >= 0) m.activeSessions.set(count);
    },
    sessionCreated(driver) {
      m.sessionsCreated.inc({ driver: labelOrOther(DRIVER_NAMES, driver) });
    },
    sessionEnded(reason) {
      m.sessionsEnded.inc({ reason: labelOrOther(SESSION_END_REASONS, reason) });
    },
    sandboxCreateDuration(driver, ms) {
      const value = seconds(ms);
      if (value !== null) m.sandboxCreate.observe({ driver: labelOrOther(DRIVER_NAMES, driver) }, value);
    },
    resourceAlert(resource) {
      m.resourceAlerts.inc({ resource: labelOrOther(MONITORED_RESOURCES, resource) });
    },
    auditWriteDuration(ms) {
      const value = seconds(ms);
      if (value !== null) m.auditWrite.observe(value);
    },
    auditCheckpoint(outcome) {
      m.auditCheckpoints.inc({ outcome: labelOrOther(CHECKPOINT_OUTCOMES, outcome) });
    },
    auditWitnessFailure() {
      m.auditWitnessFailures.inc();
    },
    clusterHeartbeat(ok, nodesLost) {
      m.clusterHeartbeats.inc({ outcome: ok ? 'ok' : 'failed' });
      if (Number.isSafeInteger(nodesLost) && nodesLost > 0) m.clusterNodesLost.inc(nodesLost);
    },
    clusterForward(outcome) {
      m.clusterForwards.inc({ outcome: labelOrOther(CLUSTER_FORWARD_OUTCOMES, outcome) });
    },
    labelNode(nodeId) {
      registry.setDefaultLabels({ node: nodeId });
    },
    httpRequest(event) {
      const value = seconds(event.durationMs);
      if (value === null || !Number.isSafeInteger(event.statusCode)) return;
      m.httpRequests.observe(
        {
          // Bounded even if a caller passed a raw path: a pattern is short and has no query.
          route: event.route.length <= 100 && !event.route.includes('?') ? event.route : OTHER,
          method: labelOrOther(HTTP_METHODS, event.method),
          status: `${Math.trunc(event.statusCode / 100)}xx`,
        },
        value,
      );
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
    registry,
  };
}

/**
 * Milliseconds to seconds, or null for a value that is not a finite, non-negative number: prom-client
 * throws on NaN, and a negative or infinite duration (a clock step, a bug) would corrupt the sum.
 */
function seconds(ms: unknown): number | null {
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms / 1000 : null;
}
