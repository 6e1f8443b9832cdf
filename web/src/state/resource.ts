/**
 * Data a view shows, loaded once, refreshed when the live feed reports an event that changes it (a few
 * at a time, debounced), and on an interval as a safety net for what the audit log does not record.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AuditEvent } from '../../../src/sdk/index.ts';
import { useApp } from './context.ts';

export interface Resource<T> {
  readonly data: T | undefined;
  readonly error: string | null;
  readonly loading: boolean;
  reload(): void;
}

export interface ResourceOptions {
  /** Refresh when such an event arrives. */
  readonly refreshOn?: (event: AuditEvent) => boolean;
  /** Refresh this often as well. */
  readonly intervalMs?: number;
  /** Events closer together than this cause one refresh. */
  readonly debounceMs?: number;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  options: ResourceOptions = {},
): Resource<T> {
  const { live } = useApp();
  const [state, setState] = useState<{ data: T | undefined; error: string | null; loading: boolean }>({
    data: undefined,
    error: null,
    loading: true,
  });
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const optionsRef = useRef(options);
  optionsRef.current = options;

  useEffect(() => {
    const controller = new AbortController();
    // A refresh keeps what is shown (no flash of "loading"); returning the same state skips a render.
    setState((previous) =>
      previous.loading || previous.data !== undefined ? previous : { ...previous, loading: true },
    );
    loadRef
      .current(controller.signal)
      .then((data) => {
        if (!controller.signal.aborted) setState({ data, error: null, loading: false });
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted)
          setState((previous) => ({ ...previous, error: messageOf(error), loading: false }));
      });
    return () => controller.abort();
  }, [...deps, generation]);

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const refresh = (): void => {
      if (timer !== null) return;
      timer = setTimeout(() => {
        timer = null;
        setGeneration((value) => value + 1);
      }, optionsRef.current.debounceMs ?? 250);
    };
    const unsubscribe = live.subscribe((event) => {
      if (optionsRef.current.refreshOn?.(event) === true) refresh();
    });
    const interval =
      options.intervalMs === undefined
        ? null
        : setInterval(() => setGeneration((value) => value + 1), options.intervalMs);
    return () => {
      unsubscribe();
      if (timer !== null) clearTimeout(timer);
      if (interval !== null) clearInterval(interval);
    };
  }, [live, options.intervalMs]);

  return { ...state, reload: () => setGeneration((value) => value + 1) };
}
