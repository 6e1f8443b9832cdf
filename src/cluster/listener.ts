/**
 * One connection that LISTENs for decided approvals (NOTIFY from the store's decideApproval), so the
 * node whose command waits for a person learns of a decision made on any node at once. The connection
 * is re-made when it breaks; since announcements sent meanwhile are lost, every waiter is woken (to
 * re-read its approval) once it is back.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { APPROVAL_CHANNEL } from '../store/index.ts';

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;

export interface ApprovalListener {
  /** Subscribes a wake-up: an approval id, or null for "re-read every waiter". */
  subscribe(wake: (approvalId: string | null) => void): () => void;
  close(): Promise<void>;
}

export function createApprovalListener(url: string, logger: Logger): ApprovalListener {
  const subscribers = new Set<(approvalId: string | null) => void>();
  let client: pg.Client | null = null;
  let closed = false;
  let failures = 0;
  let retry: NodeJS.Timeout | null = null;

  const tell = (approvalId: string | null): void => {
    for (const wake of subscribers) wake(approvalId);
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    const next = new pg.Client({ connectionString: url, application_name: 'airlock-listen' });
    next.on('notification', (message) => {
      // Payloads are approval ids written by the store; anything longer is not one.
      if (
        message.channel === APPROVAL_CHANNEL &&
        message.payload !== undefined &&
        message.payload.length <= 200
      ) {
        tell(message.payload);
      }
    });
    next.on('error', () => reconnect(next));
    next.on('end', () => reconnect(next));
    try {
      await next.connect();
      await next.query(`LISTEN ${APPROVAL_CHANNEL}`);
    } catch (error) {
      logger.warn({ err: error }, 'cluster: cannot listen for approval decisions; retrying');
      reconnect(next);
      return;
    }
    if (closed) {
      await next.end().catch(() => undefined);
      return;
    }
    client = next;
    if (failures > 0) tell(null);
    failures = 0;
  };

  const reconnect = (broken: pg.Client): void => {
    if (closed || retry !== null || (client !== null && client !== broken)) return;
    client = null;
    void broken.end().catch(() => undefined);
    failures += 1;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(failures - 1, 8));
    retry = setTimeout(() => {
      retry = null;
      void connect();
    }, delay);
    retry.unref();
  };

  void connect();
  return {
    subscribe(wake) {
      subscribers.add(wake);
      return () => subscribers.delete(wake);
    },
    async close() {
      closed = true;
      if (retry !== null) clearTimeout(retry);
      subscribers.clear();
      await client?.end().catch(() => undefined);
      client = null;
    },
  };
}
