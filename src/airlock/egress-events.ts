/**
 * Egress connections into the audit log: one `egress.connection` event each (session, command, host,
 * port, address, decision and reason, bytes each way, duration, the names of secrets swapped in), in
 * the order they ended. Written in batches: a command that opens many connections must not cost one
 * store commit (and fsync) each, nor hold the proxy up while the store writes. SQLite commits
 * synchronously, on the thread the proxy runs on: a commit per connection added its fsync to every
 * request (≈ 4 ms here). So commits come at most every MIN_COMMIT_INTERVAL_MS; a lone connection is
 * written at once, a burst together. A crash loses at most that interval's events.
 */
import type { Logger } from 'pino';
import type { EgressEvent } from '../egress/index.ts';
import type { AuditEventInput, JsonObject, Store } from '../store/index.ts';

/** Events per commit; a longer queue is written in several, in order. */
const MAX_BATCH = 500;
const MIN_COMMIT_INTERVAL_MS = 100;

export interface EgressEventWriter {
  /** Queues the event; `redact` hides what a command may have put in a host name or message. */
  write(event: EgressEvent, redact: (text: string) => string): void;
  /** Resolves once every queued event is committed. */
  flush(): Promise<void>;
}

export function createEgressEventWriter(
  store: Store,
  logger: Logger,
  now: () => number = Date.now,
): EgressEventWriter {
  let queue: AuditEventInput[] = [];
  let writing: Promise<void> | null = null;
  let lastCommitAt = -Infinity;

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, MAX_BATCH);
      queue = queue.slice(batch.length);
      lastCommitAt = now();
      try {
        await store.commit({ events: batch });
      } catch (error) {
        // The store is broken (disk full, closed): said loudly, as every failed audit write is.
        logger.error({ err: error, events: batch.length }, 'could not record egress connections');
      }
    }
  }

  function schedule(): Promise<void> {
    const wait = Math.max(0, lastCommitAt + MIN_COMMIT_INTERVAL_MS - now());
    writing ??= new Promise<void>((resolve) =>
      wait === 0 ? setImmediate(resolve) : setTimeout(resolve, wait),
    )
      .then(drain)
      .finally(() => {
        writing = null;
        if (queue.length > 0) void schedule();
      });
    return writing;
  }

  return {
    write(event, redact) {
      queue.push({
        type: 'egress.connection',
        sessionId: event.sessionId,
        commandId: event.commandId ?? null,
        data: dataOf(event, redact),
      });
      void schedule();
    },
    async flush() {
      while (writing !== null || queue.length > 0) await schedule();
    },
  };
}

function dataOf(event: EgressEvent, redact: (text: string) => string): JsonObject {
  return {
    protocol: event.protocol,
    host: redact(event.host),
    port: event.port,
    ...(event.address === undefined ? {} : { address: event.address }),
    decision: event.decision,
    reason: event.reason,
    ...(event.message === undefined ? {} : { message: redact(event.message) }),
    ...(event.error === undefined ? {} : { error: event.error }),
    inspected: event.inspected,
    secrets: [...event.secrets],
    bytesUp: event.bytesUp,
    bytesDown: event.bytesDown,
    durationMs: Math.round(event.durationMs),
    startedAt: event.startedAt,
  };
}
