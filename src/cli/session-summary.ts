import type { SessionState } from '../store/index.ts';

/** What both a store record and the API's SessionInfo say about a session, and all `sessions ls` shows. */
export interface SessionSummary {
  readonly id: string;
  readonly state: SessionState;
  readonly driver: string;
  readonly createdAt: string;
  readonly lastActiveAt: string;
  readonly expiresAt: string | null;
  readonly endedAt: string | null;
  readonly endReason: string | null;
}

/** Only the summary's fields, so `sessions ls --json` prints the same keys locally and over --url. */
export function sessionSummaryOf(record: SessionSummary): SessionSummary {
  const { id, state, driver, createdAt, lastActiveAt, expiresAt, endedAt, endReason } = record;
  return { id, state, driver, createdAt, lastActiveAt, expiresAt, endedAt, endReason };
}
