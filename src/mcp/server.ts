/**
 * One MCP server per connection: the tools over one session provider. The transport is the caller's
 * (stdio for `airlock mcp`, streamable HTTP for `/mcp`); when it closes, the session the provider
 * made ends with it.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Logger } from 'pino';
import type { Airlock } from '../airlock/index.ts';
import { AirlockError } from '../errors/index.ts';
import { createToolGuard, registerAirlockTools } from '../tools/index.ts';
import type { SessionProvider, ToolContext } from '../tools/index.ts';
import { mcpRegistrar } from './registrar.ts';

export interface AirlockMcpServerOptions {
  readonly airlock: Airlock;
  /** The session tool calls run in: `lazySession(airlock)` or `boundSession(airlock, id)`. */
  readonly session: SessionProvider;
  /** How often a call waiting for a person's approval sends a progress notification. Default 2 s. */
  readonly progressIntervalMs?: number;
  /** Reported to clients in `initialize`. Default "0.1.0". */
  readonly version?: string;
  /** Where bugs in tool calls are logged (the model reads only "internal error"). */
  readonly logger?: Pick<Logger, 'error'>;
  readonly now?: () => number;
}

export interface AirlockMcpServer {
  readonly server: McpServer;
  /** Resolves once the connection has closed and the provider's session has ended. */
  readonly closed: Promise<void>;
  /** Closes the connection (which ends the provider's session). Idempotent. */
  close(): Promise<void>;
}

/**
 * Largest number of array elements and object members one call's arguments may have: every tool
 * takes a few scalars, so anything near this is an attempt to make the parser do work.
 */
const MAX_TOOL_INPUT_ELEMENTS = 1000;

/** Progress faster than this is noise to a client, and a busy loop at 0. */
const MIN_PROGRESS_INTERVAL_MS = 10;
const DEFAULT_PROGRESS_INTERVAL_MS = 2000;

/** `progressIntervalMs` checked, or its default; throws INVALID_ARGUMENT. */
export function progressIntervalOption(value: number | undefined): number {
  const progressIntervalMs = value ?? DEFAULT_PROGRESS_INTERVAL_MS;
  if (!Number.isSafeInteger(progressIntervalMs) || progressIntervalMs < MIN_PROGRESS_INTERVAL_MS) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `progressIntervalMs must be a whole number of at least ${MIN_PROGRESS_INTERVAL_MS}`,
      { field: 'progressIntervalMs', value: progressIntervalMs },
    );
  }
  return progressIntervalMs;
}

const instructions = `Tools run shell commands and copy files in an isolated sandbox (a session) that persists between
calls until this connection ends or it sits idle too long. /workspace is the working directory; /workspace and /tmp
are writable; HOME is /tmp/home. Inside the sandbox you work freely: reading, writing, running tests, scripts, built
programs and servers on localhost need nobody's approval. What crosses the boundary asks a person or is refused:
the network, publishing, reading secrets the session was given, and changes a person inherits (build scripts, CI
workflows). A call waits a short while for a person, then answers pending_approval; the command runs by itself
once approved (follow it with command_status). Call session_info to see what will ask in this session, and
check_command to learn what a command would do without running it.`;

export function createAirlockMcpServer(options: AirlockMcpServerOptions): AirlockMcpServer {
  const { airlock, session: sessions, logger } = options;
  // Checked before anything is made, so a bad option fails the call that passed it and nothing else.
  const progressIntervalMs = progressIntervalOption(options.progressIntervalMs);
  const server = new McpServer(
    { name: 'airlock', version: options.version ?? '0.1.0' },
    { instructions, maxToolInputElements: MAX_TOOL_INPUT_ELEMENTS },
  );

  const context: ToolContext = {
    airlock,
    sessions,
    progressIntervalMs,
    now: options.now ?? Date.now,
    guard: createToolGuard(sessions, logger),
  };
  registerAirlockTools(mcpRegistrar(server), context);

  let markClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  // The protocol layer calls this once its transport has closed, however that happened (stdin ended,
  // DELETE /mcp, the endpoint reaping it, close() below).
  server.server.onclose = () => {
    void sessions
      .close()
      .catch((error: unknown) => logger?.error({ err: error }, 'could not end the MCP session'))
      .finally(markClosed);
  };

  return {
    server,
    closed,
    async close() {
      if (server.isConnected()) {
        await server.close();
      } else {
        await sessions.close();
        markClosed();
      }
      await closed;
    },
  };
}
