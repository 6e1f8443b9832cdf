/**
 * The command router: policy → approval → rate limit → execute → shape output → record. Every command
 * is recorded as proposed (with its decision) before anything else happens and as started before it
 * executes, so a crash at any point leaves a record of what was under way.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { AirlockError, isAirlockError } from '../errors/index.ts';
import type { AirlockMetrics } from '../metrics/index.ts';
import type { Decision, DecisionValue, Policy, PolicyEngine } from '../policy/index.ts';
import { evaluatePolicy } from '../policy/index.ts';
import type { ExecResult } from '../sandbox/index.ts';
import type { LiveSession, SessionManager } from '../sessions/index.ts';
import type { AuditEventInput, CommandRecord, OutputPage, Store } from '../store/index.ts';
import type { Approvals } from './approvals.ts';
import { textForModel } from './for-model.ts';
import { createFileWriter } from './file-writes.ts';
import { LiveTail } from './live-tail.ts';
import { recordExecution } from './execution-record.ts';
import { storedResult } from './stored-results.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { Redactor } from './redact.ts';
import { shapeForModel } from './shape.ts';
import type { FileWriteResult, RunOptions, RunResult } from './types.ts';
import { watchOutput, type CommandEvent } from './watch.ts';

/** Longest command accepted; longer text is refused before it reaches the parser or the store. */
export const MAX_COMMAND_CHARS = 100_000;
/** Results kept in memory for `commands.get`; older ones are rebuilt from the store. */
const RECENT_RESULTS = 1000;

export interface RouterOptions {
  readonly store: Store;
  readonly sessions: SessionManager;
  readonly approvals: Approvals;
  /** The policy engine judging a session's commands. */
  readonly policyFor: (session: LiveSession) => PolicyEngine;
  /** `router.approvalRequiredFor` commands as ask rules; null when it lists none. */
  readonly approvalGate: Policy | null;
  readonly writeFileNeedsApproval: boolean;
  readonly approvalTimeoutMs: number;
  readonly rateLimiter: RateLimiter;
  readonly maxChars: number;
  readonly redactorFor: (session: LiveSession) => Redactor;
  readonly metrics: AirlockMetrics;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface CommandHandle {
  readonly sessionId: string;
  promise: Promise<RunResult>;
  readonly kill: AbortController;
  readonly live: { readonly stdout: LiveTail; readonly stderr: LiveTail } | null;
  /** The session's redactor, for showing live output after the session itself is gone. */
  readonly redactor: Redactor;
  latest: RunResult;
}

export interface Router {
  run(session: LiveSession, command: string, options?: RunOptions): Promise<RunResult>;
  /** The latest known state of a command (live for running ones). */
  getCommand(id: string): Promise<RunResult>;
  /** Resolves when the command has finished (or at once if it has). */
  waitCommand(id: string, options?: { readonly signal?: AbortSignal }): Promise<RunResult>;
  killCommand(id: string): Promise<RunResult>;
  /**
   * A command's events as they happen. A running background command: the output in its live window,
   * then each new piece (whole lines, redacted), then one `status` event with the final result (what
   * `waitCommand` returns), and the iteration ends. A command waiting for approval: nothing until it
   * runs or ends. One that has ended (or that runs in the foreground): only the `status` event. An
   * unknown id rejects the first `next()` with NOT_FOUND, a ninth watcher of one command with
   * LIMIT_REACHED; aborting `signal` ends the iteration quietly.
   */
  watchCommand(id: string, options?: { readonly signal?: AbortSignal }): AsyncIterable<CommandEvent>;
  readOutput(
    id: string,
    page?: { readonly stream?: 'stdout' | 'stderr'; readonly offset?: number; readonly limit?: number },
  ): Promise<OutputPage>;
  writeFile(
    session: LiveSession,
    path: string,
    data: string | Uint8Array,
    options?: { readonly waitForApproval?: boolean; readonly signal?: AbortSignal },
  ): Promise<FileWriteResult>;
  /** Waits for commands in flight (their sessions are being ended, which kills them). */
  drain(): Promise<void>;
}

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

export function createRouter(options: RouterOptions): Router {
  const { store, approvals, metrics, logger } = options;
  const now = options.now ?? Date.now;
  const handles = new Map<string, CommandHandle>();
  const executionDeps = { store, metrics, logger, maxChars: options.maxChars, now };
  const files = createFileWriter({
    store,
    approvals,
    needsApproval: options.writeFileNeedsApproval,
    approvalTimeoutMs: options.approvalTimeoutMs,
    redactorFor: options.redactorFor,
    sessions: options.sessions,
  });
  const recent = new Map<string, RunResult>();

  function remember(result: RunResult): void {
    recent.delete(result.id);
    recent.set(result.id, result);
    if (recent.size > RECENT_RESULTS) recent.delete(recent.keys().next().value as string);
  }

  /** The policy's decision, tightened by `approvalRequiredFor` and loosened only by remembered approvals. */
  function judge(session: LiveSession, command: string): { decision: Decision; value: DecisionValue } {
    const decision = options.policyFor(session).evaluate(command);
    let value = decision.decision;
    let forced: string[] = [];
    if (value === 'allow' && options.approvalGate !== null) {
      const gate = evaluatePolicy(options.approvalGate, command);
      forced = gate.commands
        .flatMap((c) => c.effects)
        .filter((e) => e.ruleId.startsWith('approval-required') && e.decision === 'ask')
        .map((e) => e.reason);
      if (forced.length > 0) value = 'ask';
    }
    if (value === 'ask' && decision.hazards.every((h) => h.decision === 'allow')) {
      const asked = decision.commands.filter((c) => c.decision !== 'allow');
      const gated = forced.length > 0 ? decision.commands : asked;
      if (
        gated.length > 0 &&
        gated.every((c) => c.decision !== 'deny' && session.remembered.has(c.command))
      ) {
        value = 'allow';
      }
    }
    if (forced.length > 0 && value === 'ask') {
      return { decision: { ...decision, decision: 'ask', reasons: [...decision.reasons, ...forced] }, value };
    }
    return { decision, value };
  }

  function baseResult(
    session: LiveSession,
    id: string,
    command: string,
    decision: Decision,
  ): Omit<RunResult, 'status' | 'forModel'> {
    return {
      id,
      sessionId: session.id,
      command,
      exitCode: null,
      signal: null,
      oomKilled: false,
      stdout: '',
      stderr: '',
      truncated: false,
      outputId: null,
      durationMs: 0,
      decision: decision.decision,
      reasons: decision.reasons,
      ruleIds: decision.ruleIds,
      approvalId: null,
      retryAfterMs: null,
      error: null,
    };
  }

  function finish(facts: Omit<RunResult, 'forModel'>, timeoutMs?: number): RunResult {
    const result: RunResult = {
      ...facts,
      forModel: textForModel(facts, timeoutMs === undefined ? {} : { timeoutMs }),
    };
    remember(result);
    return result;
  }

  function commandRecord(
    session: LiveSession,
    id: string,
    command: string,
    background: boolean,
    decision: DecisionValue,
    reasons: readonly string[],
    createdAt: string,
  ): CommandRecord {
    return {
      id,
      sessionId: session.id,
      command,
      state: 'proposed',
      background,
      decision,
      reasons: [...reasons],
      approvalId: null,
      exitCode: null,
      signal: null,
      outputId: null,
      createdAt,
      startedAt: null,
      finishedAt: null,
      durationMs: null,
    };
  }

  function validateRun(session: LiveSession, command: unknown, runOptions: RunOptions): number {
    if (typeof command !== 'string' || command.trim() === '') {
      throw new AirlockError('INVALID_ARGUMENT', 'command must be non-empty text, like "ls -la"', {
        field: 'command',
      });
    }
    if (command.length > MAX_COMMAND_CHARS) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `command is ${command.length} characters; the limit is ${MAX_COMMAND_CHARS} (put long scripts in a file and run that)`,
        { field: 'command', limit: MAX_COMMAND_CHARS },
      );
    }
    const timeoutMs = runOptions.timeoutMs ?? session.settings.sandbox.timeoutMs;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > session.settings.maxTimeoutMs) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `timeoutMs must be a whole number of milliseconds from 1 to ${session.settings.maxTimeoutMs}, got ${String(timeoutMs)}`,
        { field: 'timeoutMs', max: session.settings.maxTimeoutMs },
      );
    }
    return timeoutMs;
  }

  async function run(
    session: LiveSession,
    rawCommand: string,
    runOptions: RunOptions = {},
  ): Promise<RunResult> {
    const timeoutMs = validateRun(session, rawCommand, runOptions);
    const started = now();
    const redactor = options.redactorFor(session);
    const command = redactor.redact(rawCommand).text;
    const id = newId('cmd');
    const { decision, value } = judge(session, rawCommand);
    metrics.policyDecision(value);
    const background = runOptions.background === true;
    const record = commandRecord(session, id, command, background, value, decision.reasons, iso(started));
    const base = { ...baseResult(session, id, command, decision), decision: value };
    options.sessions.touch(session);

    const intent: AuditEventInput[] = [
      {
        type: 'command.proposed',
        sessionId: session.id,
        commandId: id,
        data: { command, background, timeoutMs },
      },
      {
        type: 'command.decided',
        sessionId: session.id,
        commandId: id,
        data: {
          decision: value,
          policy: decision.policy,
          ruleIds: [...decision.ruleIds],
          reasons: decision.reasons.map((reason) => redactor.redact(reason).text),
        },
      },
    ];
    // The intent (proposed and decided) is written before anything else happens. On the common path
    // (allowed, no person involved) it goes out in the same transaction as the start of execution: one
    // synced write instead of two, and still before the command runs.
    let intentWritten = false;
    const unwrittenIntent = (): AuditEventInput[] => {
      if (intentWritten) return [];
      intentWritten = true;
      return intent;
    };
    if (value !== 'allow') {
      await store.commit({
        commands: [value === 'deny' ? { ...record, state: 'denied', finishedAt: iso(now()) } : record],
        events: unwrittenIntent(),
      });
    }
    logger.info({ sessionId: session.id, commandId: id, decision: value }, 'command proposed');

    if (value === 'deny') {
      const result = finish({ ...base, status: 'denied', durationMs: now() - started });
      metrics.commandFinished({
        status: 'denied',
        driver: session.settings.driver,
        durationMs: result.durationMs,
        execMs: null,
      });
      return result;
    }

    const kill = new AbortController();
    const handle: CommandHandle = {
      sessionId: session.id,
      kill,
      live: background ? { stdout: new LiveTail(), stderr: new LiveTail() } : null,
      redactor,
      latest: finish({ ...base, status: 'running' }),
      promise: Promise.resolve(undefined as unknown as RunResult),
    };
    const signals = [kill.signal, session.ending.signal, ...(runOptions.signal ? [runOptions.signal] : [])];
    const signal = AbortSignal.any(signals);

    let startedResolve: (result: RunResult) => void = () => undefined;
    const startedOrPending = new Promise<RunResult>((resolve) => {
      startedResolve = resolve;
    });

    const pipeline = async (): Promise<RunResult> => {
      const done = options.sessions.beginWork(session);
      try {
        let approvalId: string | null = null;
        if (value === 'ask') {
          const approval = await approvals.request({
            sessionId: session.id,
            commandId: id,
            action: 'command',
            subject: command,
            parsed: decision.commands.map((c) => redactor.redact(c.command).text),
            reasons: decision.reasons.map((reason) => redactor.redact(reason).text),
            timeoutMs: options.approvalTimeoutMs,
          });
          approvalId = approval.id;
          await store.commit({ commands: [{ ...record, state: 'pending_approval', approvalId }] });
          handle.latest = finish({
            ...base,
            status: 'pending_approval',
            approvalId,
            durationMs: now() - started,
          });
          if (runOptions.waitForApproval === false) startedResolve(handle.latest);
          const waitStarted = now();
          const decided = await approvals.waitOrWithdraw(
            approval.id,
            signal,
            'the command was cancelled before anyone decided',
          );
          const outcome = decided?.status ?? 'denied';
          metrics.approvalDecided(
            outcome === 'approved' ? 'approved' : outcome === 'expired' ? 'expired' : 'denied',
            now() - waitStarted,
          );
          if (decided === null || decided.status !== 'approved') {
            const reason =
              decided === null
                ? 'the command was cancelled while waiting for approval'
                : decided.status === 'expired'
                  ? `no one approved it within ${Math.round(options.approvalTimeoutMs / 1000)} s, so it counts as denied`
                  : `a person denied it${decided.decisionReason ? `: ${decided.decisionReason}` : ''}`;
            await store.commit({
              commands: [{ ...record, state: 'denied', approvalId, finishedAt: iso(now()) }],
            });
            return finish({
              ...base,
              status: 'denied',
              approvalId,
              reasons: [reason, ...decision.reasons],
              durationMs: now() - started,
            });
          }
          if (decided.remember) {
            // Only fully literal commands are remembered: `rm -rf $DIR` approved once must not run
            // unasked later, when $DIR (or a substitution's output) may name something else.
            const literal = decision.commands.map((verdict) => verdict.command);
            options.sessions.remember(
              session,
              literal.filter((command) => !/[$`]/.test(command)),
            );
          }
        }

        const limited = options.rateLimiter.take(session.id);
        if (!limited.allowed) {
          await store.commit({
            commands: [{ ...record, state: 'rate_limited', approvalId, finishedAt: iso(now()) }],
            events: [
              ...unwrittenIntent(),
              {
                type: 'rate.limited',
                sessionId: session.id,
                commandId: id,
                data: { retryAfterMs: limited.retryAfterMs },
              },
            ],
          });
          return finish({
            ...base,
            status: 'rate_limited',
            approvalId,
            retryAfterMs: limited.retryAfterMs,
            durationMs: now() - started,
          });
        }

        if (signal.aborted) {
          await store.commit({
            commands: [{ ...record, state: 'killed', approvalId, finishedAt: iso(now()) }],
            events: unwrittenIntent(),
          });
          return finish({ ...base, status: 'killed', approvalId, durationMs: now() - started });
        }
        const startedAt = iso(now());
        const running: CommandRecord = { ...record, state: 'running', approvalId, startedAt };
        await store.commit({
          commands: [running],
          events: [
            ...unwrittenIntent(),
            {
              type: 'execution.started',
              sessionId: session.id,
              commandId: id,
              data: { driver: session.settings.driver, sandboxId: session.sandbox.id, timeoutMs },
            },
          ],
        });
        handle.latest = finish({ ...base, status: 'running', approvalId, durationMs: now() - started });
        if (background) startedResolve(handle.latest);

        let exec: ExecResult;
        try {
          exec = await session.sandbox.exec(rawCommand, {
            timeoutMs,
            signal,
            ...(handle.live ? { stdoutTo: handle.live.stdout, stderrTo: handle.live.stderr } : {}),
          });
        } catch (error) {
          if (!isAirlockError(error)) throw error;
          await store.commit({
            commands: [{ ...running, state: 'failed', finishedAt: iso(now()) }],
            events: [
              {
                type: 'execution.finished',
                sessionId: session.id,
                commandId: id,
                data: { status: 'failed', code: error.code, message: error.message },
              },
            ],
          });
          metrics.commandFinished({
            status: 'failed',
            driver: session.settings.driver,
            durationMs: now() - started,
            execMs: null,
          });
          return finish({
            ...base,
            status: 'failed',
            approvalId,
            error: { code: error.code, message: error.message },
            durationMs: now() - started,
          });
        }
        const facts = await recordExecution(executionDeps, session, running, exec, {
          base: { ...base, approvalId },
          started,
          timeoutMs,
          killed:
            kill.signal.aborted || (runOptions.signal?.aborted ?? false) || session.ending.signal.aborted,
          redactor,
        });
        return finish(facts, timeoutMs);
      } finally {
        done();
      }
    };

    handle.promise = pipeline().then(
      (result) => {
        handle.latest = result;
        handles.delete(id);
        startedResolve(result);
        return result;
      },
      (error: unknown) => {
        handles.delete(id);
        logger.error({ sessionId: session.id, commandId: id, err: error }, 'command pipeline failed');
        const failed = finish({
          ...base,
          status: 'failed',
          error: {
            code: isAirlockError(error) ? error.code : 'INTERNAL',
            message: isAirlockError(error) ? error.message : 'internal error in Airlock',
          },
          durationMs: now() - started,
        });
        handle.latest = failed;
        startedResolve(failed);
        return failed;
      },
    );
    handles.set(id, handle);
    if (background || runOptions.waitForApproval === false) return startedOrPending;
    return handle.promise;
  }

  async function getCommand(id: string): Promise<RunResult> {
    const handle = handles.get(id);
    if (handle) {
      if (handle.live === null || handle.latest.status !== 'running') return handle.latest;
      const { redactor } = handle;
      const live = (tail: LiveTail, stream: 'stdout' | 'stderr') =>
        shapeForModel(redactor.redact(tail.text()).text, {
          maxChars: options.maxChars,
          outputId: null,
          stream,
          storedChars: 0,
          totalBytes: tail.totalBytes,
        }).text;
      return {
        ...handle.latest,
        stdout: live(handle.live.stdout, 'stdout'),
        stderr: live(handle.live.stderr, 'stderr'),
        forModel: `still running (command ${id}); output so far:\n${live(handle.live.stdout, 'stdout')}`,
      };
    }
    return recent.get(id) ?? storedResult(store, id, options.maxChars);
  }

  async function waitCommand(id: string, waitOptions: { signal?: AbortSignal } = {}): Promise<RunResult> {
    const handle = handles.get(id);
    if (handle === undefined) return getCommand(id);
    const { signal } = waitOptions;
    if (signal === undefined) return handle.promise;
    return Promise.race([
      handle.promise,
      new Promise<RunResult>((_, reject) => {
        signal.throwIfAborted();
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      }),
    ]);
  }

  async function* watchCommand(
    id: string,
    watchOptions: { signal?: AbortSignal } = {},
  ): AsyncGenerator<CommandEvent, void, undefined> {
    const { signal } = watchOptions;
    const handle = handles.get(id);
    if (handle === undefined) {
      const result = await getCommand(id);
      if (signal?.aborted !== true) yield { type: 'status', result };
      return;
    }
    yield* watchOutput({ live: handle.live, redactor: handle.redactor, done: handle.promise }, signal);
  }

  async function killCommand(id: string): Promise<RunResult> {
    const handle = handles.get(id);
    if (handle === undefined) return getCommand(id);
    handle.kill.abort(new AirlockError('SANDBOX_DESTROYED', 'killed on request'));
    return handle.promise;
  }

  async function readOutput(
    id: string,
    page: { stream?: 'stdout' | 'stderr'; offset?: number; limit?: number } = {},
  ): Promise<OutputPage> {
    const found =
      typeof id === 'string' && /^out_[0-9a-f]{24}$/.test(id)
        ? await store.readOutput(id, {
            stream: page.stream ?? 'stdout',
            offset: page.offset ?? 0,
            limit: page.limit ?? options.maxChars,
          })
        : null;
    if (found === null) {
      throw new AirlockError('NOT_FOUND', `no output ${JSON.stringify(String(id)).slice(0, 80)}`, {
        outputId: id,
      });
    }
    return found;
  }

  async function drain(): Promise<void> {
    await Promise.allSettled([...handles.values()].map((handle) => handle.promise));
    await files.drain();
  }

  return {
    run,
    getCommand,
    waitCommand,
    killCommand,
    watchCommand,
    readOutput,
    writeFile: files.write,
    drain,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
