/**
 * Group commit for the PostgreSQL store. Every append to the one audit chain holds the chain head's row
 * lock until its transaction commits, and a commit waits for its WAL flush: one transaction per
 * `commit()` serialises every node's writes behind one disk flush each, which capped a whole cluster
 * below one SQLite node. So a node sends its commits in groups: commits that arrive while a group is
 * being written wait (up to `maxCommits`, or until `windowMs` has passed after the first) and go in the
 * next group, one transaction, one chain lock, one flush, each commit's records and events in the order
 * the commits arrived.
 *
 * Nothing is acknowledged early: a commit resolves only after its group's transaction has committed, so
 * a crash loses only commits nobody was told were stored. A group that PostgreSQL refuses for one bad
 * record is written again one commit at a time, so only that commit fails; a database that cannot be
 * reached fails the whole group, as it would have failed each commit.
 */
import { isAirlockError } from '../errors/index.ts';
import type { AuditEvent, AuditEventInput } from './types.ts';

/** One `commit()`: its rows (table and column values) and its events, ready to write. */
export interface PendingCommit {
  readonly writes: readonly (readonly [string, Record<string, unknown>])[];
  readonly inputs: readonly AuditEventInput[];
}

export interface GroupCommitOptions {
  /** Writes a group in one transaction; returns each commit's appended events, in order. */
  readonly write: (group: readonly PendingCommit[]) => Promise<AuditEvent[][]>;
  /** Commits per group at most. */
  readonly maxCommits: number;
  /** How long the first commit of an idle queue waits for others to join it. */
  readonly windowMs: number;
}

export interface GroupCommit {
  submit(commit: PendingCommit): Promise<AuditEvent[]>;
  /** Resolves once every commit submitted so far has been written (or failed). */
  drain(): Promise<void>;
}

interface Waiting {
  readonly commit: PendingCommit;
  readonly resolve: (events: AuditEvent[]) => void;
  readonly reject: (error: unknown) => void;
}

export function createGroupCommit(options: GroupCommitOptions): GroupCommit {
  const queue: Waiting[] = [];
  let writing: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;

  const writeAlone = async (entry: Waiting): Promise<void> => {
    try {
      const [events] = await options.write([entry.commit]);
      entry.resolve(events ?? []);
    } catch (error) {
      entry.reject(error);
    }
  };

  const writeGroup = async (group: Waiting[]): Promise<void> => {
    try {
      const events = await options.write(group.map((entry) => entry.commit));
      group.forEach((entry, index) => entry.resolve(events[index] ?? []));
    } catch (error) {
      // A record the database refused (INTERNAL) belongs to one commit: find it by writing each alone.
      // Anything else (the database is unreachable, the chain is broken) would fail each commit too.
      if (group.length > 1 && isAirlockError(error) && error.code === 'INTERNAL') {
        for (const entry of group) await writeAlone(entry);
      } else {
        for (const entry of group) entry.reject(error);
      }
    }
  };

  const flush = (): void => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (writing !== null || queue.length === 0) return;
    const group = queue.splice(0, options.maxCommits);
    writing = writeGroup(group).finally(() => {
      writing = null;
      // Commits that queued meanwhile have waited a whole write already: they go at once.
      flush();
    });
  };

  return {
    submit(commit) {
      return new Promise<AuditEvent[]>((resolve, reject) => {
        queue.push({ commit, resolve, reject });
        if (writing !== null) return;
        if (queue.length >= options.maxCommits) flush();
        // Even with no window, after this turn of the event loop: commits made together form one group.
        else timer ??= setTimeout(flush, options.windowMs);
      });
    },
    async drain() {
      while (writing !== null || queue.length > 0) {
        flush();
        await writing;
      }
    },
  };
}
