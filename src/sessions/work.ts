import type { SessionManager } from './manager-api.ts';
import type { LiveSession } from './types.ts';

/**
 * Runs `operation` counted as the session's work in flight, so the idle reaper does not end the
 * session under a file copy or an archive that is still moving.
 */
export async function asSessionWork<T>(
  sessions: Pick<SessionManager, 'beginWork'>,
  session: LiveSession,
  operation: () => Promise<T>,
): Promise<T> {
  const done = sessions.beginWork(session);
  try {
    return await operation();
  } finally {
    done();
  }
}
