/**
 * One agent run from start to end: the session it works in (a fresh one unless given), the model
 * provider, the shared tools bound to that session, the loop, and the audit records around it. The
 * session a run made ends with the run, whatever way it ends (its background commands with it).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Airlock, Session } from '../airlock/index.ts';
import type { ModelEnvironment } from '../config/index.ts';
import type { AuditEventInput } from '../store/index.ts';
import { boundSession, createToolGuard } from '../tools/index.ts';
import type { ToolContext } from '../tools/index.ts';
import type { AgentEvent, AgentSummary } from './events.ts';
import { agentLoop } from './loop.ts';
import { createProvider, parseModelName } from './model-choice.ts';
import { createLoopRecorder, runAbandonedEvent, runFinishedEvent, runStartedEvent } from './record.ts';
import type { RunRecordContext } from './record.ts';
import { MAX_RETRY_DELAY_MS } from './retry.ts';
import { resolveRunOptions } from './run-options.ts';
import type { AgentRunOptions } from './run-options.ts';
import { DEFAULT_SYSTEM_PROMPT } from './system-prompt.ts';
import { createToolBox } from './tool-box.ts';
import { collectWorkspaceChanges, copyWorkspaceIn } from './workspace.ts';
import type { CopiedIn } from './workspace.ts';

/** What the agent stage needs of the control plane it drives; the composition root supplies it. */
export interface AgentHost {
  /** The control plane (called when a run starts, so the host may hand out the object it is part of). */
  readonly airlock: () => Airlock;
  /** Appends events to the audit chain. */
  readonly commit: (events: readonly AuditEventInput[]) => Promise<void>;
  /** The host redactor: configured secrets and the model API keys. */
  readonly redact: (text: string) => string;
  readonly modelEnvironment: ModelEnvironment;
  readonly logger?: Pick<Logger, 'error'>;
  readonly now: () => number;
}

export interface Agents {
  /**
   * Runs a task with a model. The events come as they happen (the model's text as it streams); the
   * last is `run_finished`, and the iterator's return value is the same summary. Bad options (no
   * model, no key, a bad number) reject the first `next()` with INVALID_ARGUMENT or INVALID_CONFIG.
   * Stopping the iteration early ends the run and its session.
   */
  run(options: AgentRunOptions): AsyncGenerator<AgentEvent, AgentSummary>;
}

/** How often a tool call would report progress; the agent's tools never wait for a person. */
const PROGRESS_INTERVAL_MS = 2000;

export function createAgents(host: AgentHost): Agents {
  return { run: (options) => runAgent(host, options) };
}

async function* runAgent(
  host: AgentHost,
  options: AgentRunOptions,
): AsyncGenerator<AgentEvent, AgentSummary> {
  const airlock = host.airlock();
  const resolved = resolveRunOptions(options, airlock.config.agent);
  const choice = parseModelName(resolved.model);
  const provider = createProvider({
    choice,
    baseUrl: resolved.baseUrl,
    apiKey: resolved.apiKey,
    environment: host.modelEnvironment,
  });
  const stop = new AbortController();
  const signal = options.signal === undefined ? stop.signal : AbortSignal.any([stop.signal, options.signal]);
  const owned = options.sessionId === undefined;
  const session: Session = owned
    ? await airlock.sessions.create(options.session ?? {})
    : await airlock.sessions.get(options.sessionId as string);
  const runId = `run_${randomBytes(12).toString('hex')}`;
  const record: RunRecordContext = {
    runId,
    sessionId: session.id,
    provider: choice.provider,
    model: choice.model,
    recordPrompts: resolved.recordPrompts,
    redact: host.redact,
    commit: host.commit,
  };
  const sessions = boundSession(airlock, session.id);
  const context: ToolContext = {
    airlock,
    sessions,
    progressIntervalMs: PROGRESS_INTERVAL_MS,
    // A pending approval is a result the model reads at once, never a wait inside a tool call.
    approvalWaitMs: 0,
    commandWaitMs: resolved.commandWaitMs,
    now: host.now,
    guard: createToolGuard(sessions, host.logger),
  };
  let summary: AgentSummary | null = null;
  try {
    const limits = {
      maxSteps: resolved.maxSteps,
      budgetTokens: resolved.budgetTokens,
      contextTokens: resolved.contextTokens,
      maxTokens: resolved.maxTokens,
    };
    await host.commit([
      runStartedEvent(record, { task: resolved.task, endpoint: provider.endpoint, limits }),
    ]);
    yield {
      type: 'run_started',
      runId,
      sessionId: session.id,
      provider: choice.provider,
      model: choice.model,
      endpoint: provider.endpoint,
      maxSteps: limits.maxSteps,
      budgetTokens: limits.budgetTokens,
      contextTokens: limits.contextTokens,
    };
    let copied: CopiedIn | null = null;
    if (options.workspace !== undefined) {
      copied = await copyWorkspaceIn(session, options.workspace);
      const { files, bytes, leftOut } = copied;
      yield { type: 'workspace_copied', dir: options.workspace.dir, files, bytes, leftOut: [...leftOut] };
    }
    const finished = yield* agentLoop({
      provider,
      model: choice.model,
      system: resolved.systemPrompt ?? DEFAULT_SYSTEM_PROMPT,
      task: resolved.task,
      tools: createToolBox(context),
      limits,
      retry: {
        maxAttempts: resolved.attempts,
        baseDelayMs: resolved.retryBaseDelayMs,
        maxDelayMs: MAX_RETRY_DELAY_MS,
      },
      redact: host.redact,
      recorder: createLoopRecorder(record),
      signal,
      now: host.now,
    });
    // Work an interrupted run left half done is not copied back over the person's files.
    if (options.workspace !== undefined && copied !== null && finished.status !== 'aborted') {
      const changes = await collectWorkspaceChanges(session, options.workspace, airlock.policy);
      const writeBack = options.workspace.writeBack === true;
      yield { type: 'workspace_changes', dir: options.workspace.dir, writeBack, ...changes };
    }
    summary = finished;
    await host.commit([runFinishedEvent(record, summary)]);
    yield { type: 'run_finished', runId, sessionId: session.id, ...summary };
    return summary;
  } finally {
    // Reached also when the consumer stops iterating: nothing of the run may go on without it.
    stop.abort();
    if (summary === null) await recordAbort(host, record).catch(() => undefined);
    await sessions.close();
    if (owned) await session.destroy().catch(() => undefined);
  }
}

/** A run that ended without a summary (the consumer stopped reading, or a bug): recorded as aborted. */
async function recordAbort(host: AgentHost, record: RunRecordContext): Promise<void> {
  await host.commit([runAbandonedEvent(record)]);
}
