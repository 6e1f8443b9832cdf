import type { Airlock } from '../airlock/index.ts';
import type { ToolResult } from './registrar.ts';
import type { SessionProvider } from './session-provider.ts';

/** What every tool of one connection (an MCP client, an agent run) shares. */
export interface ToolContext {
  readonly airlock: Airlock;
  readonly sessions: SessionProvider;
  /** How often a call waiting for a person sends a progress notification. */
  readonly progressIntervalMs: number;
  /**
   * Longest a call waits for a person's decision before answering `pending_approval` (the command or
   * write goes on once decided; command_status follows it up), whatever the model asks. Absent: what
   * the call asks (approval_wait_s), else `router.approvalWait`.
   */
  readonly approvalWaitMs?: number;
  /**
   * Longest run_command waits for a command it started before answering `running` (the command goes
   * on in the background; command_status follows it up). Absent: the call waits until it ends.
   */
  readonly commandWaitMs?: number;
  readonly now: () => number;
  /** Runs a tool's work; an AirlockError becomes a result the model reads instead of a protocol error. */
  guard(work: () => Promise<ToolResult>): Promise<ToolResult>;
}
