/**
 * The record stage: each command's states and each file copy in the store, with their audit events in
 * order, and results rebuilt from the store for commands this process no longer holds.
 */
export { CommandJournal, MAX_SESSION_OUTPUT_CHARS } from './command-journal.ts';
export type { CommandIntent, JournalDeps } from './command-journal.ts';
export { recordFileEvent } from './file-events.ts';
export type { FileEvent } from './file-events.ts';
export { storedResult } from './stored-results.ts';
