import type { Checkpointer } from './audit-checkpointer.ts';
import type { WitnessSink } from './audit-witness.ts';
import type { Store } from './types.ts';

/**
 * A `Store` that also keeps the audit log's protections outside the database: every commit counts
 * towards the next signed checkpoint and goes to the witness. Both run after the commit has returned,
 * off the caller's path: a commit costs what it cost before plus a counter and an array push, and
 * neither a slow signer nor a dead witness can fail or delay a write to the store.
 */

export interface AuditTrailOptions {
  readonly checkpointer: Checkpointer | null;
  readonly witness: WitnessSink | null;
  /**
   * How often, at most, a checkpoint is attempted and the witness catches up with what other
   * processes appended (the CLI deciding approvals): events never wait longer than this to be signed.
   */
  readonly intervalMs: number;
}

export function withAuditTrail(store: Store, options: AuditTrailOptions): Store {
  const { checkpointer, witness } = options;
  let closing: Promise<void> | null = null;
  const timer = setInterval(() => {
    void checkpointer?.checkpoint();
    witness?.catchUp();
  }, options.intervalMs);
  // The trail must not keep a process alive that has nothing else to do.
  timer.unref();

  return {
    ...store,
    async commit(batch) {
      const events = await store.commit(batch);
      if (events.length > 0) {
        checkpointer?.observe(events);
        witness?.offer(events);
      }
      return events;
    },
    async decideApproval(id, decision, event) {
      const decided = await store.decideApproval(id, decision, event);
      // The appended event (if the approval was still pending) is not returned: read it from the store.
      checkpointer?.appended(1);
      witness?.catchUp();
      return decided;
    },
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        // Both report their own failures; the store closes whatever they did.
        await checkpointer?.close();
        await witness?.close();
        await store.close();
      })();
      return closing;
    },
  };
}
