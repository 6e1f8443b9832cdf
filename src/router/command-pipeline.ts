/**
 * One command through the stages: decide → approve → rate → execute → shape → record. Each stage is a
 * folder of its own; this file only runs them in order and turns each outcome into a result. Every
 * command is recorded as proposed (with its decision) before anything else happens and as started
 * before it executes, so a crash at any point leaves a record of what was under way.
 */
import { randomBytes } from 'node:crypto';
import { isAirlockError } from '../errors/index.ts';
import type { LiveSession } from '../sessions/index.ts';
import { awaitDecision, newApprovalId, refusalReason, requestApproval } from './approve/index.ts';
import { InputChannel } from './command-input.ts';
import type { CommandHandle } from './command-registry.ts';
import { decide, offeredGrants } from './decide/index.ts';
import type { Verdict } from './decide/index.ts';
import { executeCommand } from './execute/index.ts';
import { CommandJournal } from './record/index.ts';
import { LiveTail, shapeExecution, textForModel } from './shape/index.ts';
import type { Redactor } from './shape/index.ts';
import { checkRunExtras, judgedText, recordedExtras } from './run-extras.ts';
import type { RunExtras } from './run-extras.ts';
import { approvalWaitOf, checkRunInput } from './run-input.ts';
import { refusalsForResult } from './egress.ts';
import type { RunOptions, RunResult } from './types.ts';
import type { PipelineDeps } from './pipeline-deps.ts';

type Facts = Omit<RunResult, 'forModel'>;

export async function runCommand(
  deps: PipelineDeps,
  session: LiveSession,
  rawCommand: string,
  options: RunOptions = {},
): Promise<RunResult> {
  return new CommandRun(deps, session, rawCommand, options).start();
}

/** The state of one command on its way through the stages. */
class CommandRun {
  readonly #deps: PipelineDeps;
  readonly #session: LiveSession;
  readonly #raw: string;
  readonly #options: RunOptions;
  readonly #timeoutMs: number;
  readonly #extras: RunExtras;
  /** What the policy judged and a person is shown: the command with its variables as assignments. */
  readonly #judged: string;
  /** How long the caller waits for a person before it gets `pending_approval`. */
  readonly #approvalWaitMs: number;
  readonly #started: number;
  readonly #redactor: Redactor;
  readonly #id = `cmd_${randomBytes(12).toString('hex')}`;
  readonly #verdict: Verdict;
  readonly #journal: CommandJournal;
  readonly #base: Facts;
  #approvalId: string | null = null;

  constructor(deps: PipelineDeps, session: LiveSession, raw: string, options: RunOptions) {
    this.#deps = deps;
    this.#session = session;
    this.#raw = raw;
    this.#options = options;
    this.#timeoutMs = checkRunInput(session, raw, options);
    this.#extras = checkRunExtras(options);
    this.#judged = judgedText(raw, this.#extras.env);
    this.#approvalWaitMs = approvalWaitOf(options, deps);
    this.#started = deps.now();
    this.#redactor = deps.redactorFor(session);
    this.#verdict = decide({
      engine: deps.policyFor(session),
      capabilities: session.capabilities,
      grants: { commands: session.remembered, programs: session.grantedPrograms },
      command: this.#judged,
    });
    const command = this.#redact(raw);
    const reasons = this.#verdict.decision.reasons.map((reason) => this.#redact(reason));
    this.#journal = new CommandJournal(deps, {
      session,
      id: this.#id,
      command,
      background: options.background === true,
      timeoutMs: this.#timeoutMs,
      value: this.#verdict.value,
      decision: this.#verdict.decision,
      reasons,
      noApprover: options.noApprover === true,
      createdAtMs: this.#started,
      extras: recordedExtras(this.#extras, (text) => this.#redact(text)),
    });
    this.#base = {
      id: this.#id,
      sessionId: session.id,
      command,
      status: 'running',
      exitCode: null,
      signal: null,
      oomKilled: false,
      stdout: '',
      stderr: '',
      truncated: false,
      outputId: null,
      durationMs: 0,
      decision: this.#verdict.value,
      reasons,
      ruleIds: this.#verdict.decision.ruleIds,
      approvalId: null,
      retryAfterMs: null,
      error: null,
      refusedHosts: [],
    };
  }

  /** Resolves with the final result, or earlier for a background command or one left waiting for a person. */
  async start(): Promise<RunResult> {
    const deps = this.#deps;
    const { value } = this.#verdict;
    deps.metrics.policyDecision(value);
    deps.sessions.touch(this.#session);
    const refused = value === 'deny' || (value === 'ask' && this.#options.noApprover === true);
    await this.#journal.decided(refused);
    deps.logger.info(
      { sessionId: this.#session.id, commandId: this.#id, decision: value },
      'command proposed',
    );
    if (refused) {
      // A refused ask keeps its decision (`ask`) and reasons: the caller tells it from a deny by them.
      const result = this.#finish({ status: 'denied' });
      deps.metrics.commandFinished({
        status: 'denied',
        driver: this.#session.settings.driver,
        durationMs: result.durationMs,
        execMs: null,
      });
      return result;
    }
    return this.#proceed();
  }

  /**
   * Approve → rate → execute → shape → record, tracked so it can be followed, waited for and killed.
   * A command that needs a person may outlive the call: the call gets `pending_approval` after its
   * approval wait, and the command goes on by itself once decided.
   */
  #proceed(): Promise<RunResult> {
    const session = this.#session;
    const background = this.#options.background === true;
    const asks = this.#verdict.value === 'ask';
    const kill = new AbortController();
    const signal = AbortSignal.any([
      kill.signal,
      session.ending.signal,
      ...(this.#options.signal ? [this.#options.signal] : []),
    ]);
    let early: (result: RunResult) => void = () => undefined;
    const startedOrPending = new Promise<RunResult>((resolve) => {
      early = resolve;
    });
    const { interactive } = this.#options;
    const input =
      interactive === undefined
        ? null
        : new InputChannel(
            { redactor: this.#redactor, record: (event) => this.#journal.note(event) },
            interactive.pty !== undefined,
          );
    const handle: CommandHandle = {
      id: this.#id,
      sessionId: session.id,
      kill,
      input,
      // A command that waits for a person may run after its caller stopped waiting: its output is
      // followed like a background command's.
      live: background || asks ? { stdout: new LiveTail(), stderr: new LiveTail() } : null,
      redactor: this.#redactor,
      latest: this.#finish({ status: 'running' }),
      done: Promise.resolve(undefined as unknown as RunResult),
    };
    const progress = (result: RunResult, returnNow: boolean): void => {
      handle.latest = result;
      if (returnNow) early(result);
    };
    handle.done = this.#stages(handle, signal, progress)
      .finally(() => input?.close())
      .then(
        (result) => result,
        (error: unknown) => {
          this.#deps.logger.error(
            { sessionId: session.id, commandId: this.#id, err: error },
            'command pipeline failed',
          );
          return this.#finish({
            status: 'failed',
            error: {
              code: isAirlockError(error) ? error.code : 'INTERNAL',
              message: isAirlockError(error) ? error.message : 'internal error in Airlock',
            },
          });
        },
      );
    void handle.done.then((result) => {
      handle.latest = result;
      early(result);
    });
    this.#deps.registry.track(handle);
    if (background) return startedOrPending;
    return asks ? Promise.race([handle.done, startedOrPending]) : handle.done;
  }

  async #stages(
    handle: CommandHandle,
    signal: AbortSignal,
    progress: (result: RunResult, returnNow: boolean) => void,
  ): Promise<RunResult> {
    const done = this.#deps.sessions.beginWork(this.#session);
    try {
      if (this.#verdict.value === 'ask') {
        const refusal = await this.#approve(signal, progress);
        if (refusal !== null) return refusal;
      }
      const limited = await this.#rate();
      if (limited !== null) return limited;
      if (signal.aborted) {
        await this.#journal.killed();
        return this.#finish({ status: 'killed' });
      }
      await this.#journal.started();
      progress(this.#finish({ status: 'running' }), this.#options.background === true);
      return await this.#execute(handle, signal);
    } finally {
      done();
    }
  }

  /**
   * The approve stage; null when approved, else the refusal. The reviewer (if any) is asked first; the
   * caller is answered `pending_approval` once its approval wait is over, and this goes on waiting.
   */
  async #approve(
    signal: AbortSignal,
    progress: (result: RunResult, returnNow: boolean) => void,
  ): Promise<RunResult | null> {
    const deps = this.#deps;
    const { decision } = this.#verdict;
    // What "remember" may cover, kept here as parsed; the person sees it redacted.
    const grants = offeredGrants(decision);
    // The id exists before the request is recorded (after the reviewer), so the caller can be told it.
    const approvalId = newApprovalId();
    this.#approvalId = approvalId;
    await this.#journal.pendingApproval(approvalId);
    const waitMs = this.#approvalWaitMs;
    progress(this.#finish({ status: 'pending_approval' }), waitMs === 0);
    const answerCaller =
      waitMs === 0 || waitMs === Number.POSITIVE_INFINITY
        ? undefined
        : setTimeout(() => progress(this.#finish({ status: 'pending_approval' }), true), waitMs);
    try {
      await requestApproval(
        deps,
        {
          id: approvalId,
          sessionId: this.#session.id,
          commandId: this.#id,
          action: 'command',
          subject: this.#redact(this.#judged),
          parsed: decision.commands.map((verdict) => this.#redact(verdict.command)),
          reasons: this.#base.reasons,
          ruleIds: this.#base.ruleIds,
          grants: grants.map((grant) => ({ ...grant, covers: grant.covers.map((c) => this.#redact(c)) })),
          timeoutMs: deps.approvalTimeoutMs,
          capabilities: this.#session.capabilities,
        },
        signal,
      );
      this.#options.onApprovalRequested?.(this.#finish({ status: 'pending_approval' }));
      const waitStarted = deps.now();
      const outcome = await awaitDecision(deps.approvals, approvalId, signal, 'command');
      deps.metrics.approvalDecided(
        outcome.approved ? 'approved' : outcome.why === 'expired' ? 'expired' : 'denied',
        deps.now() - waitStarted,
      );
      if (!outcome.approved) {
        await this.#journal.denied();
        const reason = refusalReason(outcome, 'command', deps.approvalTimeoutMs);
        return this.#finish({ status: 'denied', reasons: [reason, ...this.#base.reasons] });
      }
      const chosen = grants.find((grant) => grant.scope === outcome.record.scope);
      if (chosen !== undefined) await deps.sessions.grant(this.#session, chosen, this.#judged);
      return null;
    } finally {
      clearTimeout(answerCaller);
    }
  }

  /** The rate stage; null when a token was free, else the refusal with when to retry. */
  async #rate(): Promise<RunResult | null> {
    const limited = this.#deps.rateLimiter.take(this.#session.id);
    if (limited.allowed) return null;
    await this.#journal.rateLimited(limited.retryAfterMs);
    return this.#finish({ status: 'rate_limited', retryAfterMs: limited.retryAfterMs });
  }

  /** The execute, shape and record stages of a command that runs. */
  async #execute(handle: CommandHandle, signal: AbortSignal): Promise<RunResult> {
    const deps = this.#deps;
    const { driver } = this.#session.settings;
    const sinks = handle.live ?? this.#options.rawOutputTo;
    const egress = deps.egress?.track(this.#session, this.#id);
    const { cwd, env, stdin } = this.#extras;
    const { interactive } = this.#options;
    const input = handle.input;
    const outcome = await executeCommand(this.#session, this.#raw, {
      timeoutMs: this.#timeoutMs,
      signal,
      cwd,
      env,
      stdin,
      ...(interactive === undefined || !(input instanceof InputChannel)
        ? {}
        : {
            interactive: {
              ...(interactive.pty === undefined ? {} : { pty: interactive.pty }),
              attach: (given) => input.attach(given),
            },
          }),
      stdoutTo: sinks?.stdout,
      stderrTo: sinks?.stderr,
    }).finally(() => egress?.end());
    const refusedHosts = refusalsForResult(egress, (text) => this.#redact(text));
    if (!outcome.ok) {
      const error = { code: outcome.error.code, message: outcome.error.message };
      await this.#journal.failed(error);
      const failed = this.#finish({ status: 'failed', error });
      deps.metrics.commandFinished({ status: 'failed', driver, durationMs: failed.durationMs, execMs: null });
      return failed;
    }
    const { exec } = outcome;
    const shaped = shapeExecution(exec, {
      redactor: this.#redactor,
      maxChars: deps.maxChars,
      // Stopped on request: its kill switch, the caller's signal or the session ending.
      killRequested: signal.aborted,
    });
    await this.#journal.finished(exec, shaped);
    const result = this.#finish({
      status: shaped.status,
      exitCode: exec.exitCode,
      signal: exec.signal,
      oomKilled: exec.oomKilled,
      stdout: shaped.stdout,
      stderr: shaped.stderr,
      truncated: shaped.truncated,
      outputId: shaped.outputId,
      refusedHosts,
    });
    deps.metrics.commandFinished({
      status: shaped.status,
      driver,
      durationMs: result.durationMs,
      execMs: exec.durationMs,
    });
    deps.logger.info(
      {
        sessionId: this.#session.id,
        commandId: this.#id,
        status: shaped.status,
        exitCode: exec.exitCode,
        durationMs: result.durationMs,
      },
      'command finished',
    );
    return result;
  }

  /** A result with the facts so far, its text for the model, remembered for `commands.get`. */
  #finish(facts: Partial<Facts> & Pick<Facts, 'status'>): RunResult {
    const all: Facts = {
      ...this.#base,
      approvalId: this.#approvalId,
      durationMs: this.#deps.now() - this.#started,
      ...facts,
    };
    const ran = all.status === 'timed_out' || all.status === 'completed' || all.status === 'killed';
    const result: RunResult = {
      ...all,
      forModel: textForModel(all, ran ? { timeoutMs: this.#timeoutMs } : {}),
    };
    this.#deps.registry.remember(result);
    return result;
  }

  #redact(text: string): string {
    return this.#redactor.redact(text).text;
  }
}
