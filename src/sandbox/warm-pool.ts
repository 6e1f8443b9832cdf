import type { Driver, Sandbox, SandboxSpec } from './types.ts';

const REFILL_DELAY_MS = 50;

export interface WarmPoolOptions {
  /** Sandboxes kept ready per distinct spec. */
  size: number;
  /** How many distinct specs may have a pool at once; the least recently used is dropped. */
  maxSpecs?: number;
}

/**
 * Keeps a few sandboxes created ahead of need, so `create` hands one out in well under a millisecond
 * instead of paying namespace, mount and cgroup setup on the caller's time. A pooled sandbox has run
 * nothing (it is exactly what `create` would return) and is only handed out for an identical spec,
 * so pooling never changes what a session is allowed to do.
 */
export function withWarmPool(driver: Driver, options: WarmPoolOptions): Driver {
  const maxSpecs = options.maxSpecs ?? 4;
  const pools = new Map<string, { spec: SandboxSpec; ready: Sandbox[]; filling: boolean }>();
  /** Fills in progress; close() waits for them so no sandbox is created after it returns. */
  const fills = new Set<Promise<void>>();
  let closed = false;

  const keyOf = (spec: SandboxSpec): string =>
    JSON.stringify([
      spec.image,
      spec.memoryBytes,
      spec.cpus,
      spec.pids,
      spec.scratchBytes,
      spec.timeoutMs,
      spec.env,
    ]);

  function fill(key: string): void {
    const running = fillPool(key).finally(() => fills.delete(running));
    fills.add(running);
  }

  async function fillPool(key: string): Promise<void> {
    const pool = pools.get(key);
    if (!pool || pool.filling) return;
    pool.filling = true;
    try {
      while (!closed && pools.get(key) === pool && pool.ready.length < options.size) {
        const sandbox = await driver.create(pool.spec);
        if (closed || pools.get(key) !== pool) {
          await sandbox.destroy();
          return;
        }
        pool.ready.push(sandbox);
        // A pooled sandbox that dies while idle must not be handed out.
        void sandbox.ended.then(() => {
          const index = pool.ready.indexOf(sandbox);
          if (index >= 0) pool.ready.splice(index, 1);
        });
      }
    } catch {
      // Pre-warming is an optimisation: when it fails, create() takes the cold path, which reports
      // the same failure to its caller with the full error.
    } finally {
      pool.filling = false;
    }
  }

  async function drop(key: string): Promise<void> {
    const pool = pools.get(key);
    pools.delete(key);
    await Promise.all(pool?.ready.splice(0).map((sandbox) => sandbox.destroy()) ?? []);
  }

  return {
    name: driver.name,
    sweepStale: () => driver.sweepStale(),
    // Restored sandboxes are never pooled: each comes from its own snapshot.
    ...(driver.restore ? { restore: driver.restore.bind(driver) } : {}),
    async create(spec: SandboxSpec): Promise<Sandbox> {
      const key = keyOf(spec);
      let pool = pools.get(key);
      if (pool) {
        pools.delete(key);
        pools.set(key, pool); // most recently used last
      } else {
        pool = { spec: structuredClone(spec), ready: [], filling: false };
        pools.set(key, pool);
        const oldest = pools.keys().next().value;
        if (pools.size > maxSpecs && oldest !== undefined) void drop(oldest);
      }
      const ready = pool.ready.shift();
      if (ready) {
        // The caller's first command usually follows at once; refilling in the same instant would
        // make it compete with namespace setup for the CPU, so the refill waits a moment.
        setTimeout(() => fill(key), REFILL_DELAY_MS).unref();
        return ready;
      }
      // Refill only after the caller's own sandbox exists, so the two do not compete for the CPU.
      const sandbox = await driver.create(spec);
      fill(key);
      return sandbox;
    },
    async close(): Promise<void> {
      closed = true;
      await Promise.all(fills);
      await Promise.all([...pools.keys()].map(drop));
      await driver.close();
    },
  };
}
