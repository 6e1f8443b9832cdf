import { afterEach, describe, expect, it, vi } from 'vitest';
import { AirlockError } from '../errors/index.ts';
import type { SandboxStats } from '../sandbox/index.ts';
import { createResourceMonitor, USAGE_HISTORY_SAMPLES } from './index.ts';
import type { ResourceAlert, ResourceMonitor } from './index.ts';

const MiB = 1024 * 1024;

function stats(overrides: Partial<SandboxStats> = {}): SandboxStats {
  return {
    memoryBytes: 10 * MiB,
    memoryPeakBytes: null,
    memoryLimitBytes: 100 * MiB,
    pids: 1,
    pidsLimit: 64,
    cpuUsageMs: 0,
    oomKills: 0,
    ...overrides,
  };
}

/** A stats() that returns the given samples in order, then repeats the last. */
function sequence(samples: SandboxStats[]): () => Promise<SandboxStats> {
  let index = 0;
  return async () => samples[Math.min(index++, samples.length - 1)] ?? stats();
}

const monitors: ResourceMonitor[] = [];
function monitor(overrides: Partial<Parameters<typeof createResourceMonitor>[0]> = {}): {
  monitor: ResourceMonitor;
  alerts: ResourceAlert[];
  errors: [string, unknown][];
} {
  const alerts: ResourceAlert[] = [];
  const errors: [string, unknown][] = [];
  const created = createResourceMonitor({
    intervalMs: 60_000,
    onAlert: (alert) => alerts.push(alert),
    onError: (sessionId, error) => errors.push([sessionId, error]),
    ...overrides,
  });
  monitors.push(created);
  return { monitor: created, alerts, errors };
}

afterEach(() => {
  for (const created of monitors.splice(0)) created.close();
  vi.useRealTimers();
});

describe('createResourceMonitor', () => {
  it('alerts once per crossing and re-arms only 10 points below the threshold', async () => {
    const { monitor: m, alerts } = monitor();
    const percents = [50, 85, 90, 60, 85];
    expect(percents.length).toBeGreaterThan(0);
    m.watch('s1', { stats: sequence(percents.map((p) => stats({ memoryBytes: p * MiB }))), cpus: 1 });
    for (const _ of percents) await m.sampleAll();

    expect(alerts.map((alert) => [alert.resource, alert.fraction])).toEqual([
      ['memory', 0.85],
      ['memory', 0.85],
    ]);
    expect(alerts[0]).toMatchObject({ sessionId: 's1', usage: 85 * MiB, limit: 100 * MiB });
  });

  it('does not re-arm while usage stays inside the hysteresis band', async () => {
    const { monitor: m, alerts } = monitor();
    const percents = [85, 75, 71, 95, 80];
    m.watch('s1', { stats: sequence(percents.map((p) => stats({ memoryBytes: p * MiB }))), cpus: 1 });
    for (const _ of percents) await m.sampleAll();
    expect(alerts).toHaveLength(1);
  });

  it('keeps a bounded history per session for charts, oldest first, and forgets it on unwatch', async () => {
    const { monitor: m } = monitor();
    let memoryMiB = 0;
    m.watch('s1', { stats: async () => stats({ memoryBytes: ++memoryMiB * MiB }), cpus: 1 });
    for (let round = 0; round < USAGE_HISTORY_SAMPLES + 5; round++) await m.sampleAll();
    const history = m.history('s1');
    expect(history).toHaveLength(USAGE_HISTORY_SAMPLES);
    expect(history[0]?.memoryBytes).toBe(6 * MiB);
    expect(history.at(-1)?.memoryBytes).toBe((USAGE_HISTORY_SAMPLES + 5) * MiB);
    m.unwatch('s1');
    expect(m.history('s1')).toEqual([]);
  });

  it('alerts on processes against the pids limit', async () => {
    const { monitor: m, alerts } = monitor();
    m.watch('s1', { stats: sequence([stats({ pids: 10 }), stats({ pids: 60 })]), cpus: 1 });
    await m.sampleAll();
    await m.sampleAll();
    expect(alerts).toEqual([
      expect.objectContaining({ sessionId: 's1', resource: 'pids', usage: 60, limit: 64, fraction: 60 / 64 }),
    ]);
  });

  it('computes the CPU fraction of the quota from cpuUsageMs deltas over the elapsed time', async () => {
    let clock = 0;
    const { monitor: m, alerts } = monitor({ now: () => clock });
    const cpu = [0, 250, 650, 700];
    m.watch('s1', { stats: sequence(cpu.map((ms) => stats({ cpuUsageMs: ms }))), cpus: 0.5 });

    const fractions: (number | null)[] = [];
    for (const _ of cpu) {
      await m.sampleAll();
      fractions.push(m.latest('s1')?.cpuFraction ?? null);
      clock += 1000;
    }
    expect(fractions).toEqual([null, 0.5, 0.8, 0.1]);
    expect(alerts).toEqual([
      { sessionId: 's1', resource: 'cpu', usage: 400, limit: 500, fraction: 0.8, at: 2000 },
    ]);
    expect(m.latest('s1')).toMatchObject({ cpuUsageMs: 700, memoryBytes: 10 * MiB, pidsLimit: 64, at: 3000 });
  });

  it('reports a rejecting stats() once, stops watching, and resolves the round', async () => {
    const { monitor: m, errors } = monitor();
    const ended = new AirlockError('SANDBOX_DESTROYED', 'the sandbox was already destroyed');
    const failing = vi.fn(async (): Promise<SandboxStats> => Promise.reject(ended));
    m.watch('gone', { stats: failing, cpus: 1 });
    m.watch('alive', { stats: async () => stats(), cpus: 1 });

    await expect(m.sampleAll()).resolves.toBeUndefined();
    await m.sampleAll();

    expect(errors).toEqual([['gone', ended]]);
    expect(failing).toHaveBeenCalledTimes(1);
    expect(m.latest('gone')).toBeNull();
    expect(m.latest('alive')).not.toBeNull();
  });

  it('keeps a throwing onAlert inside the monitor and reports it', async () => {
    const boom = new Error('alert sink failed');
    const { monitor: m, errors } = monitor({
      onAlert: () => {
        throw boom;
      },
    });
    m.watch('s1', { stats: async () => stats({ memoryBytes: 99 * MiB }), cpus: 1 });
    await expect(m.sampleAll()).resolves.toBeUndefined();
    expect(errors).toEqual([['s1', boom]]);
    expect(m.latest('s1')).not.toBeNull();
  });

  it('never overlaps samples of a session while its stats() is slow', async () => {
    vi.useFakeTimers();
    const { monitor: m } = monitor({ intervalMs: 1000 });
    let release: (value: SandboxStats) => void = () => {};
    const slow = vi.fn(
      () =>
        new Promise<SandboxStats>((resolve) => {
          release = resolve;
        }),
    );
    m.watch('s1', { stats: slow, cpus: 1 });
    await vi.advanceTimersByTimeAsync(5000);
    const manual = m.sampleAll();
    expect(slow).toHaveBeenCalledTimes(1);

    release(stats());
    await manual;
    expect(m.latest('s1')).not.toBeNull();
    await vi.advanceTimersByTimeAsync(1000);
    expect(slow).toHaveBeenCalledTimes(2);
  });

  it('ignores a sample that completes after the session was unwatched', async () => {
    const { monitor: m, alerts } = monitor();
    let release: (value: SandboxStats) => void = () => {};
    m.watch('s1', { stats: () => new Promise((resolve) => (release = resolve)), cpus: 1 });
    const round = m.sampleAll();
    m.unwatch('s1');
    release(stats({ memoryBytes: 99 * MiB }));
    await round;
    expect(alerts).toEqual([]);
    expect(m.latest('s1')).toBeNull();
  });

  it('does not keep the process alive: its timer is unref’d', () => {
    const spy = vi.spyOn(globalThis, 'setInterval');
    const { monitor: m } = monitor({ intervalMs: 1000 });
    m.watch('s1', { stats: async () => stats(), cpus: 1 });
    const timer = spy.mock.results[0]?.value as NodeJS.Timeout | undefined;
    spy.mockRestore();
    expect(timer?.hasRef()).toBe(false);
  });

  it('samples on a timer and close() stops it', async () => {
    vi.useFakeTimers();
    const { monitor: m } = monitor({ intervalMs: 1000 });
    const stat = vi.fn(async () => stats());
    expect(vi.getTimerCount()).toBe(0);
    m.watch('s1', { stats: stat, cpus: 1 });
    expect(vi.getTimerCount()).toBe(1);

    await vi.advanceTimersByTimeAsync(3000);
    expect(stat).toHaveBeenCalledTimes(3);

    m.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(stat).toHaveBeenCalledTimes(3);
    expect(m.latest('s1')).toBeNull();
    expect(() => m.watch('s2', { stats: stat, cpus: 1 })).toThrow(AirlockError);
  });

  it('stops its timer when the last session is unwatched', () => {
    vi.useFakeTimers();
    const { monitor: m } = monitor({ intervalMs: 1000 });
    m.watch('a', { stats: async () => stats(), cpus: 1 });
    m.watch('b', { stats: async () => stats(), cpus: 1 });
    m.unwatch('a');
    expect(vi.getTimerCount()).toBe(1);
    m.unwatch('b');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects options and targets that would make alerts meaningless', () => {
    const cases = [
      { intervalMs: 0 },
      { intervalMs: 1.5 },
      { threshold: 0 },
      { threshold: 1.2 },
      { rearmMargin: 0.9 },
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const overrides of cases) {
      expect(() => monitor(overrides), JSON.stringify(overrides)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    const { monitor: m } = monitor();
    expect(() => m.watch('s1', { stats: async () => stats(), cpus: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', details: { field: 'cpus', sessionId: 's1' } }),
    );
  });
});
