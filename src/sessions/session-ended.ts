/**
 * The SESSION_ENDED error for a session the store holds as ended: its reason in words, and as a stable
 * code (`details.reason`: `node_lost`, `idle_timeout`…) a client can branch on. The code is the one the
 * session's `session.destroyed` event recorded, by whichever control plane ended it.
 */
import { AirlockError } from '../errors/index.ts';
import type { SessionRecord, Store } from '../store/index.ts';
import { sessionEndReasons, type SessionEndCode } from './types.ts';

function isEndCode(value: unknown): value is SessionEndCode {
  return typeof value === 'string' && Object.hasOwn(sessionEndReasons, value);
}

export async function sessionEndedError(store: Store, record: SessionRecord): Promise<AirlockError> {
  const [destroyed] = await store.listEvents({
    sessionId: record.id,
    types: ['session.destroyed'],
    limit: 1,
  });
  const code = destroyed?.data['reason'];
  return new AirlockError(
    'SESSION_ENDED',
    `session ${record.id} has ended${record.endReason ? ` (${record.endReason})` : ''}; create a new one`,
    { sessionId: record.id, ...(isEndCode(code) ? { reason: code } : {}) },
  );
}
