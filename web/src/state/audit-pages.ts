/**
 * A page of the audit log, newest first, that grows live as matching events are recorded and pages
 * back on demand: what the Audit and Egress views list. At most `maxShown` events are kept live; older
 * ones stay in the log.
 */
import { useEffect, useState } from 'preact/hooks';
import type { AuditEvent, ListAuditOptions } from '../../../src/sdk/index.ts';
import { useApp } from './context.ts';
import { messageOf } from './resource.ts';

export type AuditPageFilter = Pick<ListAuditOptions, 'types' | 'sessionId' | 'commandId'>;

export interface AuditPages {
  readonly events: readonly AuditEvent[];
  readonly hasOlder: boolean;
  readonly error: string | null;
  loadOlder(): Promise<void>;
}

export function useAuditPages(
  filter: AuditPageFilter,
  matches: (event: AuditEvent) => boolean,
  sizes: { readonly page: number; readonly maxShown: number },
): AuditPages {
  const { client, live } = useApp();
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [hasOlder, setHasOlder] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const query = (beforeSeq: number): ListAuditOptions => ({ ...filter, beforeSeq, limit: sizes.page });
  // The filter is a fresh object each render: its contents decide when to read again.
  const filterKey = JSON.stringify(filter);

  useEffect(() => {
    const controller = new AbortController();
    setError(null);
    client.audit
      .list({ ...query(Number.MAX_SAFE_INTEGER), signal: controller.signal })
      .then((page) => {
        setEvents([...page].reverse());
        setHasOlder(page.length === sizes.page);
      })
      .catch((failure: unknown) => {
        if (!controller.signal.aborted) setError(messageOf(failure));
      });
    const unsubscribe = live.subscribe((event) => {
      if (!matches(event)) return;
      setEvents((current) =>
        current.some((shown) => shown.seq >= event.seq)
          ? current
          : [event, ...current].slice(0, sizes.maxShown),
      );
    });
    return () => {
      controller.abort();
      unsubscribe();
    };
  }, [client, live, filterKey]);

  const loadOlder = async (): Promise<void> => {
    const oldest = events.at(-1)?.seq;
    if (oldest === undefined) return;
    try {
      const page = await client.audit.list(query(oldest));
      setEvents((current) => [...current, ...[...page].reverse()]);
      setHasOlder(page.length === sizes.page);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };

  return { events, hasOlder, error, loadOlder };
}
