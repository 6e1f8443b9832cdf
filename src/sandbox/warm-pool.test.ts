import { describe, expect, it } from 'vitest';
import type { Driver, Sandbox, SandboxSpec } from './types.ts';
import { withWarmPool } from './warm-pool.ts';

const spec: SandboxSpec = {
  image: 'host',
  memoryBytes: 256 << 20,
  cpus: 1,
  pids: 64,
  scratchBytes: 32 << 20,
  env: {},
  timeoutMs: 1000,
};

/** A recording driver: the pool's bookkeeping is what is under test here, not isolation. */
function recordingDriver(): Driver & { created: SandboxSpec[]; destroyed: string[]; handles: Sandbox[] } {
  const created: SandboxSpec[] = [];
  const destroyed: string[] = [];
  const handles: Sandbox[] = [];
  return {
    name: 'bwrap',
    created,
    destroyed,
    handles,
    async create(requested) {
      created.push(requested);
      const id = `sandbox-${created.length}`;
      let end: () => void = () => {};
      const ended = new Promise<void>((resolve) => (end = resolve));
      const handle = {
        id,
        driver: 'bwrap',
        ended,
        destroy: async () => {
          destroyed.push(id);
          end();
        },
      } as unknown as Sandbox;
      handles.push(handle);
      return handle;
    },
    sweepStale: async () => 0,
    close: async () => {},
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 80));

describe('warm pool', () => {
  it('serves the second create of a spec from the pool and refills it', async () => {
    const inner = recordingDriver();
    const pooled = withWarmPool(inner, { size: 1 });
    const first = await pooled.create(spec);
    await settle();
    expect(inner.created).toHaveLength(2);
    const second = await pooled.create(spec);
    expect(second.id).toBe('sandbox-2');
    expect(first.id).not.toBe(second.id);
    await settle();
    expect(inner.created).toHaveLength(3);
    await pooled.close();
  });

  it('never hands a sandbox made for one spec to another (adversarial: a lower memory limit)', async () => {
    const inner = recordingDriver();
    const pooled = withWarmPool(inner, { size: 2 });
    await pooled.create(spec);
    await settle();
    const tighter = { ...spec, memoryBytes: 64 << 20 };
    await pooled.create(tighter);
    const tighterCreates = inner.created.filter((made) => made.memoryBytes === 64 << 20);
    expect(tighterCreates.length).toBeGreaterThanOrEqual(1);
    expect(inner.created.filter((made) => made.memoryBytes === spec.memoryBytes)).toHaveLength(3);
    await pooled.close();
  });

  it('destroys idle pooled sandboxes on close', async () => {
    const inner = recordingDriver();
    const pooled = withWarmPool(inner, { size: 2 });
    const inUse = await pooled.create(spec);
    await settle();
    await pooled.close();
    expect(inner.destroyed.sort()).toEqual(['sandbox-2', 'sandbox-3']);
    expect(inner.destroyed).not.toContain(inUse.id);
  });

  it('drops a pooled sandbox that died while idle', async () => {
    const inner = recordingDriver();
    const pooled = withWarmPool(inner, { size: 1 });
    await pooled.create(spec);
    await settle();
    const idle = inner.handles[1];
    expect(idle?.id).toBe('sandbox-2');
    await idle?.destroy(); // dies on its own, e.g. killed from the host
    await settle();
    const next = await pooled.create(spec);
    expect(next.id).not.toBe('sandbox-2');
    await pooled.close();
  });
});
