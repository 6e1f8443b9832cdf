import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Airlock } from '../airlock/index.ts';
import { AirlockError, isAirlockError } from '../errors/index.ts';
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

/**
 * Another connection's commands and outputs are as unknown as ones that never existed: ids are hard
 * to guess, but a leaked one must still not open another session's data.
 */
export function notFound(what: string, id: string): AirlockError {
  return new AirlockError('NOT_FOUND', `no ${what} ${JSON.stringify(id).slice(0, 80)} in this session`, {
    id,
  });
}

/** `lookup`, with the router's own NOT_FOUND (worded differently) replaced by `notFound`'s. */
export async function asNotFound<T>(lookup: Promise<T>, what: string, id: string): Promise<T> {
  try {
    return await lookup;
  } catch (error) {
    if (isAirlockError(error) && error.code === 'NOT_FOUND') throw notFound(what, id);
    throw error;
  }
}
