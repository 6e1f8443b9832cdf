/**
 * Failures as results: an AirlockError (an ended session, a path outside the sandbox, an unknown id)
 * becomes a result the model can read and act on; anything else is a bug, logged, and shown to the
 * model only as "internal error".
 */
import type { Logger } from 'pino';
import { isAirlockError } from '../errors/index.ts';
import type { ToolResult } from './registrar.ts';
import type { SessionProvider } from './session-provider.ts';
import { errorResult } from './tool-results.ts';

export function createToolGuard(
  sessions: SessionProvider,
  logger: Pick<Logger, 'error'> | undefined,
): (work: () => Promise<ToolResult>) => Promise<ToolResult> {
  return async (work) => {
    try {
      return await work();
    } catch (error) {
      if (!isAirlockError(error)) {
        logger?.error({ err: error }, 'tool call failed');
        return errorResult({ code: 'INTERNAL', message: 'internal error in Airlock' });
      }
      if (error.code !== 'SESSION_ENDED') return errorResult(error);
      const endedId = error.details['sessionId'];
      // Without an id it is not known which session ended (the connection closing says so too);
      // guessing the current one would throw away a healthy session that replaced the ended one.
      if (typeof endedId === 'string') sessions.ended(endedId);
      return errorResult(
        error,
        sessions.renews
          ? 'Its files and processes are gone; the next call starts a new, empty session.'
          : 'This connection cannot run anything more: create a new session and connect with its token.',
      );
    }
  };
}
