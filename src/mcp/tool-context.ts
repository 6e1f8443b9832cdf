import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Airlock } from '../airlock/index.ts';
import type { SessionProvider } from './session-provider.ts';

/** What every tool of one MCP connection shares. */
export interface ToolContext {
  readonly airlock: Airlock;
  readonly sessions: SessionProvider;
  /** How often a call waiting for a person sends a progress notification. */
  readonly progressIntervalMs: number;
  readonly now: () => number;
  /** Runs a tool's work; an AirlockError becomes a result the model reads instead of a protocol error. */
  guard(work: () => Promise<CallToolResult>): Promise<CallToolResult>;
}
