/**
 * One live view of everything: the audit log followed from its head. Views listen for the event types
 * that change what they show and refetch; an interrupted stream reconnects from the last event seen,
 * so nothing between is missed.
 */
import type { AirlockClient, AuditEvent } from '../../../src/sdk/index.ts';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting';

export interface LiveFeed {
  subscribe(listener: (event: AuditEvent) => void): () => void;
  onStatus(listener: (status: LiveStatus) => void): () => void;
  stop(): void;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 15_000;

export function startLiveFeed(client: AirlockClient): LiveFeed {
  const listeners = new Set<(event: AuditEvent) => void>();
  const statusListeners = new Set<(status: LiveStatus) => void>();
  const stopped = new AbortController();
  const setStatus = (status: LiveStatus): void => {
    for (const listener of statusListeners) listener(status);
  };

  void (async () => {
    let afterSeq: number | null = null;
    let retryMs = FIRST_RETRY_MS;
    while (!stopped.signal.aborted) {
      try {
        if (afterSeq === null) {
          // From the head: the views load what is there already; the feed brings what comes next.
          const newest = await client.audit.list({
            beforeSeq: Number.MAX_SAFE_INTEGER,
            limit: 1,
            signal: stopped.signal,
          });
          afterSeq = newest.at(-1)?.seq ?? 0;
        }
        setStatus('live');
        for await (const event of client.audit.follow({ afterSeq, signal: stopped.signal })) {
          afterSeq = event.seq;
          retryMs = FIRST_RETRY_MS;
          for (const listener of listeners) listener(event);
        }
      } catch {
        // Reported as a status; the loop tries again from the last event seen.
      }
      if (stopped.signal.aborted) break;
      setStatus('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, retryMs));
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    }
  })();

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    stop: () => stopped.abort(),
  };
}
