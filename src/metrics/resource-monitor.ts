import { performance } from 'node:perf_hooks';
import { AirlockError } from '../errors/index.ts';
import type { SandboxStats } from '../sandbox/index.ts';
import type { MonitoredResource } from './labels.ts';

/** Below this, reading every session's cgroup files becomes a load of its own. */
const MIN_INTERVAL_MS = 50;
/** Longer than this and a runaway session would go unseen for most of a typical command timeout. */
const MAX_INTERVAL_MS = 10 * 60_000;
const DEFAULT_THRESHOLD = 0.8;
/** Percentage points usage must fall below the threshold before the next crossing alerts again. */
const DEFAULT_REARM_MARGIN = 0.1;
/** Samples kept per session for charts: ten minutes at the default five-second interval. */
export const USAGE_HISTORY_SAMPLES = 120;

export interface ResourceAlert {
  sessionId: string;
  resource: MonitoredResource;
  /** Bytes for memory, processes for pids, CPU milliseconds used over the last interval for cpu. */
  usage: number;
  /** The limit in the same unit; for cpu, `cpus × interval` in milliseconds. */
  limit: number;
  /** usage / limit. */
  fraction: number;
  at: number;
}

export interface ResourceSample {
  memoryBytes: number;
  memoryLimitBytes: number;
  pids: number;
  pidsLimit: number;
  /** Cumulative CPU time of the session since its sandbox started. */
  cpuUsageMs: number;
  /** Share of the CPU quota used since the previous sample; null on the first sample. */
  cpuFraction: number | null;
  at: number;
}

export interface WatchTarget {
  stats: () => Promise<SandboxStats>;
  /** The session's CPU quota in cores (the spec's `cpus`). */
  cpus: number;
}

export interface ResourceMonitorOptions {
  intervalMs: number;
  /** Fraction of a limit at which an alert fires; default 0.8. */
  threshold?: number;
  /** How far below the threshold usage must drop before the resource can alert again; default 0.1. */
  rearmMargin?: number;
  onAlert: (alert: ResourceAlert) => void;
  /** A session whose stats() failed (usually: its sandbox ended) and is no longer watched. */
  onError?: (sessionId: string, error: unknown) => void;
  /** Milliseconds; monotonic by default so a wall-clock step cannot distort the CPU fraction. */
  now?: () => number;
}

export interface ResourceMonitor {
  /** Starts sampling a session; watching an id again replaces its target and clears its history. */
  watch(sessionId: string, target: WatchTarget): void;
  unwatch(sessionId: string): void;
  latest(sessionId: string): Readonly<ResourceSample> | null;
  /** The session's last samples (at most USAGE_HISTORY_SAMPLES), oldest first; empty when not watched. */
  history(sessionId: string): readonly Readonly<ResourceSample>[];
  /** One sampling round over every watched session; resolves when it is done, never rejects. */
  sampleAll(): Promise<void>;
  /** Stops the timer and forgets every session. Idempotent. */
  close(): void;
}

interface Watched {
  readonly sessionId: string;
  readonly target: WatchTarget;
  latest: ResourceSample | null;
  /** Bounded: the oldest sample goes when a new one would pass USAGE_HISTORY_SAMPLES. */
  readonly history: ResourceSample[];
  inFlight: Promise<void> | null;
  /** Per resource: false after an alert until usage falls below threshold − rearmMargin. */
  readonly armed: Record<MonitoredResource, boolean>;
}

export function createResourceMonitor(options: ResourceMonitorOptions): ResourceMonitor {
  const { onAlert, onError } = options;
  const { intervalMs, threshold, rearmMargin } = checkedSettings(options);
  const now = options.now ?? (() => performance.timeOrigin + performance.now());

  const sessions = new Map<string, Watched>();
  let timer: ReturnType<typeof setInterval> | null = null;
  let closed = false;

  // Callbacks are the caller's code; whatever they throw must not escape a timer tick, where it
  // would become an unhandled rejection and take the process down.
  function report(sessionId: string, error: unknown): void {
    try {
      onError?.(sessionId, error);
    } catch {
      // Nowhere left to report to: the error handler itself failed.
    }
  }

  function emit(entry: Watched, alert: ResourceAlert): void {
    try {
      onAlert(alert);
    } catch (error) {
      report(entry.sessionId, error);
    }
  }

  function check(
    entry: Watched,
    resource: MonitoredResource,
    usage: number,
    limit: number,
    at: number,
  ): void {
    // A limit that is missing or zero cannot be crossed in any meaningful way.
    if (!(Number.isFinite(limit) && limit > 0 && Number.isFinite(usage))) return;
    const fraction = usage / limit;
    if (entry.armed[resource] && fraction >= threshold) {
      entry.armed[resource] = false;
      emit(entry, { sessionId: entry.sessionId, resource, usage, limit, fraction, at });
    } else if (!entry.armed[resource] && fraction < threshold - rearmMargin) {
      entry.armed[resource] = true;
    }
  }

  async function sampleOnce(entry: Watched): Promise<void> {
    let stats: SandboxStats;
    try {
      stats = await entry.target.stats();
    } catch (error) {
      if (sessions.get(entry.sessionId) === entry) {
        stopWatching(entry.sessionId);
        report(entry.sessionId, error);
      }
      return;
    }
    // Unwatched (or replaced) while stats() was pending: the result belongs to nobody now.
    if (sessions.get(entry.sessionId) !== entry) return;
    const at = now();
    const previous = entry.latest;
    let cpuFraction: number | null = null;
    if (previous !== null) {
      const elapsedMs = at - previous.at;
      const usedMs = stats.cpuUsageMs - previous.cpuUsageMs;
      const quotaMs = entry.target.cpus * elapsedMs;
      if (elapsedMs > 0 && usedMs >= 0) {
        cpuFraction = usedMs / quotaMs;
        check(entry, 'cpu', usedMs, quotaMs, at);
      }
    }
    entry.latest = {
      memoryBytes: stats.memoryBytes,
      memoryLimitBytes: stats.memoryLimitBytes,
      pids: stats.pids,
      pidsLimit: stats.pidsLimit,
      cpuUsageMs: stats.cpuUsageMs,
      cpuFraction,
      at,
    };
    entry.history.push(entry.latest);
    if (entry.history.length > USAGE_HISTORY_SAMPLES) entry.history.shift();
    check(entry, 'memory', stats.memoryBytes, stats.memoryLimitBytes, at);
    check(entry, 'pids', stats.pids, stats.pidsLimit, at);
  }

  /** One sample per session at a time: a slow stats() delays only its own session's next sample. */
  function sample(entry: Watched): Promise<void> {
    entry.inFlight ??= sampleOnce(entry)
      .catch((error: unknown) => report(entry.sessionId, error))
      .finally(() => {
        entry.inFlight = null;
      });
    return entry.inFlight;
  }

  function sampleAll(): Promise<void> {
    return Promise.all([...sessions.values()].map(sample)).then(() => undefined);
  }

  function stopWatching(sessionId: string): void {
    sessions.delete(sessionId);
    if (sessions.size === 0 && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  }

  return {
    watch(sessionId, target) {
      if (closed) throw new AirlockError('INTERNAL', 'the resource monitor is closed', { sessionId });
      if (!(Number.isFinite(target.cpus) && target.cpus > 0)) {
        throw invalid('cpus', 'cpus must be a positive number of cores', { sessionId });
      }
      sessions.set(sessionId, {
        sessionId,
        target,
        latest: null,
        history: [],
        inFlight: null,
        armed: { memory: true, pids: true, cpu: true },
      });
      if (timer === null) {
        timer = setInterval(() => void sampleAll(), intervalMs);
        // Monitoring alone must never keep a process alive.
        timer.unref();
      }
    },
    unwatch: stopWatching,
    latest(sessionId) {
      const sample = sessions.get(sessionId)?.latest;
      return sample === undefined || sample === null ? null : Object.freeze({ ...sample });
    },
    history(sessionId) {
      return (sessions.get(sessionId)?.history ?? []).map((sample) => Object.freeze({ ...sample }));
    },
    sampleAll,
    close() {
      closed = true;
      for (const sessionId of [...sessions.keys()]) stopWatching(sessionId);
    },
  };
}

/** The sampling interval and alert bounds, defaults filled in; INVALID_ARGUMENT for any out of range. */
function checkedSettings(options: ResourceMonitorOptions): {
  intervalMs: number;
  threshold: number;
  rearmMargin: number;
} {
  const { intervalMs } = options;
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const rearmMargin = options.rearmMargin ?? DEFAULT_REARM_MARGIN;
  if (!Number.isSafeInteger(intervalMs) || intervalMs < MIN_INTERVAL_MS || intervalMs > MAX_INTERVAL_MS) {
    throw invalid(
      'intervalMs',
      `intervalMs must be an integer from ${MIN_INTERVAL_MS} to ${MAX_INTERVAL_MS}`,
    );
  }
  if (!(threshold > 0 && threshold <= 1)) {
    throw invalid('threshold', 'threshold must be a fraction greater than 0 and at most 1');
  }
  if (!(rearmMargin >= 0 && rearmMargin < threshold)) {
    throw invalid('rearmMargin', 'rearmMargin must be at least 0 and below the threshold');
  }
  return { intervalMs, threshold, rearmMargin };
}

function invalid(field: string, message: string, details: Record<string, unknown> = {}): AirlockError {
  return new AirlockError('INVALID_ARGUMENT', message, { field, ...details });
}

/*
 * Limitations
 * - Alerts are advisory: the cgroup limits are what stop a session; this only tells someone it is close.
 * - Sampling misses anything shorter than the interval — a fork burst or allocation spike between two
 *   samples is invisible here (the OOM count in SandboxStats still records a kill).
 * - Memory is what the driver reports; on cgroup v1 that includes page cache the kernel could reclaim,
 *   so a session reading large files can alert without being at risk.
 * - Sessions are sampled concurrently, one stats() in flight per session, so a round over many sessions
 *   is a burst of cgroup reads rather than a trickle.
 */
