/**
 * The record stage for one command: every state it passes through goes to the store with its audit
 * events, in order. The intent (proposed and decided) is written before anything else happens; on the
 * common path (allowed, no person involved) it goes out in the same transaction as the start of
 * execution: one synced write instead of two, and still before the command runs.
 */
import type { AirlockMetrics } from '../../metrics/index.ts';
import type { Decision, DecisionValue } from '../../policy/index.ts';
import type { ExecResult } from '../../sandbox/index.ts';
import type { LiveSession } from '../../sessions/index.ts';
import type { AuditEventInput, CommandRecord, CommandState, Store } from '../../store/index.ts';
import type { ShapedOutput } from '../shape/index.ts';

/**
 * Stored output a session keeps for paging, stdout and stderr of all its commands together; older
 * outputs are dropped past it, so a session printing a lot costs bounded disk.
 */
export const MAX_SESSION_OUTPUT_CHARS = 64 * 1024 * 1024;

export interface JournalDeps {
  readonly store: Store;
  readonly metrics: AirlockMetrics;
  readonly now: () => number;
}

export interface CommandIntent {
  readonly session: LiveSession;
  readonly id: string;
  /** Redacted. */
  readonly command: string;
  readonly background: boolean;
  readonly timeoutMs: number;
  readonly value: DecisionValue;
  readonly decision: Decision;
  /** The decision's reasons, redacted. */
  readonly reasons: readonly string[];
  /** No person could be asked (a one-shot CLI run): an ask is refused at once. */
  readonly noApprover: boolean;
  readonly createdAtMs: number;
  /** The command's own directory, variables (values redacted) and stdin size, when it has them. */
  readonly extras?: {
    readonly cwd?: string;
    readonly env?: Readonly<Record<string, string>>;
    readonly stdinBytes?: number;
  };
}

export class CommandJournal {
  readonly #deps: JournalDeps;
  readonly #intent: CommandIntent;
  #record: CommandRecord;
  #intentWritten = false;

  constructor(deps: JournalDeps, intent: CommandIntent) {
    this.#deps = deps;
    this.#intent = intent;
    this.#record = {
      id: intent.id,
      sessionId: intent.session.id,
      command: intent.command,
      state: 'proposed',
      background: intent.background,
      decision: intent.value,
      reasons: [...intent.reasons],
      approvalId: null,
      exitCode: null,
      signal: null,
      outputId: null,
      createdAt: iso(intent.createdAtMs),
      startedAt: null,
      finishedAt: null,
      durationMs: null,
    };
  }

  /**
   * After the decision: a refusal is final at once; an ask is written now (a person is about to see
   * it); an allowed command's intent waits for its start.
   */
  async decided(refused: boolean): Promise<void> {
    if (refused) await this.#commit('denied', true);
    else if (this.#intent.value !== 'allow') await this.#commit('proposed', false);
  }

  async pendingApproval(approvalId: string): Promise<void> {
    this.#record = { ...this.#record, approvalId };
    await this.#commit('pending_approval', false);
  }

  /** A person refused it, or nobody decided in time. */
  async denied(): Promise<void> {
    await this.#commit('denied', true);
  }

  async rateLimited(retryAfterMs: number): Promise<void> {
    await this.#commit('rate_limited', true, [this.#event('rate.limited', { retryAfterMs })]);
  }

  /** Stopped before it started (the caller gave up, the session ended). */
  async killed(): Promise<void> {
    await this.#commit('killed', true);
  }

  /** One event about the running command (typed input), written at once. */
  async note(event: Pick<AuditEventInput, 'type' | 'data'>): Promise<void> {
    await this.#deps.store.commit({ events: [this.#event(event.type, event.data)] });
  }

  async started(): Promise<void> {
    const { session, timeoutMs } = this.#intent;
    this.#record = { ...this.#record, state: 'running', startedAt: iso(this.#deps.now()) };
    await this.#store(this.#record, [
      ...this.#unwrittenIntent(),
      this.#event('execution.started', {
        driver: session.settings.driver,
        sandboxId: session.sandbox.id,
        timeoutMs,
      }),
    ]);
  }

  /** The sandbox could not run it. */
  async failed(error: { readonly code: string; readonly message: string }): Promise<void> {
    await this.#commit('failed', true, [
      this.#event('execution.finished', { status: 'failed', code: error.code, message: error.message }),
    ]);
  }

  /** It ran: the final state, the stored output and their events in one transaction. */
  async finished(exec: ExecResult, shaped: ShapedOutput): Promise<void> {
    const { store, metrics, now } = this.#deps;
    const { session } = this.#intent;
    const { outputId } = shaped;
    const finishedAt = iso(now());
    const durationMs = Math.round(exec.durationMs);
    const written = performance.now();
    await store.commit({
      commands: [
        {
          ...this.#record,
          state: shaped.status satisfies CommandState,
          exitCode: exec.exitCode,
          signal: exec.signal,
          outputId,
          finishedAt,
          durationMs,
        },
      ],
      outputs:
        outputId === null
          ? []
          : [
              {
                id: outputId,
                sessionId: session.id,
                commandId: this.#intent.id,
                stdout: shaped.stdoutFull,
                stderr: shaped.stderrFull,
                stdoutTotalBytes: exec.stdoutStream.totalBytes,
                stderrTotalBytes: exec.stderrStream.totalBytes,
                createdAt: finishedAt,
              },
            ],
      events: [
        this.#event('execution.finished', {
          status: shaped.status,
          exitCode: exec.exitCode,
          signal: exec.signal,
          oomKilled: exec.oomKilled,
          durationMs,
        }),
        ...(outputId === null
          ? []
          : [
              this.#event('output.stored', {
                outputId,
                stdoutBytes: exec.stdoutStream.totalBytes,
                stderrBytes: exec.stderrStream.totalBytes,
                stdoutStoredChars: shaped.stdoutFull.length,
                stderrStoredChars: shaped.stderrFull.length,
              }),
            ]),
      ],
    });
    metrics.auditWriteDuration(performance.now() - written);
    if (outputId !== null) await store.trimSessionOutputs(session.id, MAX_SESSION_OUTPUT_CHARS);
  }

  /** The intent events, the first time they are asked for; nothing after. */
  #unwrittenIntent(): AuditEventInput[] {
    if (this.#intentWritten) return [];
    this.#intentWritten = true;
    const { background, timeoutMs, value, decision, reasons, noApprover, command, extras } = this.#intent;
    return [
      this.#event('command.proposed', { command, background, timeoutMs, ...extras }),
      this.#event('command.decided', {
        decision: value,
        policy: decision.policy,
        ruleIds: [...decision.ruleIds],
        reasons: [...reasons],
        // Recorded so the log tells an ask refused for want of a person from one a person refused.
        ...(noApprover && value === 'ask' ? { approver: 'none' } : {}),
      }),
    ];
  }

  async #commit(state: CommandState, final: boolean, events: AuditEventInput[] = []): Promise<void> {
    const record = { ...this.#record, state, ...(final ? { finishedAt: iso(this.#deps.now()) } : {}) };
    await this.#store(record, [...this.#unwrittenIntent(), ...events]);
  }

  async #store(record: CommandRecord, events: AuditEventInput[]): Promise<void> {
    await this.#deps.store.commit({ commands: [record], events });
  }

  #event(type: AuditEventInput['type'], data: AuditEventInput['data']): AuditEventInput {
    return { type, sessionId: this.#intent.session.id, commandId: this.#intent.id, data };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
