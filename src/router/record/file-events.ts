/**
 * The record stage for file copies: each write, read and listing that happened, with what a reviewer
 * needs (path, size, hash, entry count) and never the content.
 */
import { createHash } from 'node:crypto';
import type { AuditEventInput, Store } from '../../store/index.ts';

export type FileEvent =
  | {
      readonly kind: 'written';
      readonly path: string;
      readonly data: Uint8Array;
      /** Copied in by the person running Airlock (a workspace), not written by a model. */
      readonly operator?: boolean;
    }
  | {
      readonly kind: 'refused';
      readonly path: string;
      readonly bytes: number;
      readonly ruleIds: readonly string[];
      readonly reasons: readonly string[];
    }
  | { readonly kind: 'read'; readonly path: string; readonly data: Uint8Array }
  | { readonly kind: 'listed'; readonly path: string; readonly entries: number };

/**
 * `path` (and a refusal's reasons) already redacted; for a read, `data` is what the caller was given
 * (redacted). A refused write is recorded with why, never with its content.
 */
export async function recordFileEvent(store: Store, sessionId: string, event: FileEvent): Promise<void> {
  const audit: AuditEventInput =
    event.kind === 'refused'
      ? {
          type: 'file.refused',
          sessionId,
          commandId: null,
          data: {
            path: event.path,
            bytes: event.bytes,
            ruleIds: [...event.ruleIds],
            reasons: [...event.reasons],
          },
        }
      : event.kind === 'listed'
        ? {
            type: 'file.listed',
            sessionId,
            commandId: null,
            data: { path: event.path, entries: event.entries },
          }
        : {
            type: event.kind === 'written' ? 'file.written' : 'file.read',
            sessionId,
            commandId: null,
            data: {
              path: event.path,
              bytes: event.data.length,
              sha256: createHash('sha256').update(event.data).digest('hex'),
              ...(event.kind === 'written' && event.operator === true ? { operator: true } : {}),
            },
          };
  await store.commit({ events: [audit] });
}
