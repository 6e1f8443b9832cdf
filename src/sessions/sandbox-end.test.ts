import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Driver, Sandbox, SandboxEnd, SandboxSpec } from '../sandbox/index.ts';
import { openStore } from '../store/index.ts';
import type { Store } from '../store/index.ts';
import { createSessionManager } from './manager.ts';
import type { SessionManager } from './manager-api.ts';
import { createSnapshotStore } from './snapshots.ts';
import { sessionEndReasons } from './types.ts';

const spec: SandboxSpec = {
  image: 'host',
  memoryBytes: 64 * 1024 * 1024,
  cpus: 1,
  pids: 32,
  scratchBytes: 8 * 1024 * 1024,
  env: {},
  timeoutMs: 1000,
};

/** A driver whose sandboxes end when the test says so, with the cause it gives. */
function fakeDriver(): Driver & { end(index: number, how: SandboxEnd): void; destroyed: string[] } {
  const enders: ((how: SandboxEnd) => void)[] = [];
  const destroyed: string[] = [];
  return {
    name: 'bwrap',
    destroyed,
    end: (index, how) => enders[index]?.(how),
    async create() {
      const id = `sandbox-${enders.length}`;
      let end: (how: SandboxEnd) => void = () => {};
      const ended = new Promise<SandboxEnd>((resolve) => (end = resolve));
      enders.push(end);
      const sandbox: Partial<Sandbox> = {
        id,
        driver: 'bwrap',
        ended,
        // The session manager makes the commands' HOME with a first write.
        writeFile: async () => {},
        destroy: async () => {
          destroyed.push(id);
          end({ cause: 'destroyed', detail: 'destroyed by its owner' });
        },
      };
      return sandbox as Sandbox;
    },
    sweepStale: async () => 0,
    close: async () => {},
  };
}

describe('session manager', () => {
  let dir: string;
  let store: Store;
  let manager: SessionManager;

  afterEach(async () => {
    await manager?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function setUp(driver: Driver): void {
    dir = mkdtempSync(join(tmpdir(), 'airlock-sessions-test-'));
    store = openStore({ kind: 'sqlite', path: join(dir, 'airlock.db') }, { baseDir: dir });
    manager = createSessionManager({
      store,
      driverFor: () => driver,
      defaults: {
        driver: 'bwrap',
        sandbox: spec,
        idleTimeoutMs: 60_000,
        ttlMs: 60_000,
        maxTtlMs: 120_000,
        maxTimeoutMs: 60_000,
      },
      snapshots: createSnapshotStore({ dir: join(dir, 'snapshots') }),
      owner: 'test-host:1:1',
      maxSessions: 4,
    });
  }

  it('ends only the session whose sandbox broke the protocol, saying why in the audit log (adversarial)', async () => {
    const driver = fakeDriver();
    setUp(driver);
    const hostile = await manager.create();
    const bystander = await manager.create();
    const detail = 'the sandbox broke the supervisor protocol (a type 68 reply of 0 bytes) and was ended';
    driver.end(0, { cause: 'protocol_violation', detail });
    await expect.poll(async () => (await manager.record(hostile.id)).state).toBe('ended');

    const record = await manager.record(hostile.id);
    expect(record.endReason).toBe(sessionEndReasons.sandbox_protocol_violation);
    const events = await store.listEvents({ sessionId: hostile.id });
    expect(events.find((event) => event.type === 'session.destroyed')?.data).toEqual({
      reason: 'sandbox_protocol_violation',
      detail,
    });
    await expect(manager.get(hostile.id)).rejects.toMatchObject({ code: 'SESSION_ENDED' });
    expect((await manager.get(bystander.id)).phase).toBe('active');
    expect(driver.destroyed).toEqual(['sandbox-0']);
  });

  it('records a sandbox that died on its own as sandbox_ended', async () => {
    const driver = fakeDriver();
    setUp(driver);
    const session = await manager.create();
    driver.end(0, { cause: 'exited', detail: 'the sandbox ended on its own' });
    await expect.poll(async () => (await manager.record(session.id)).state).toBe('ended');
    const events = await store.listEvents({ sessionId: session.id });
    expect(events.find((event) => event.type === 'session.destroyed')?.data).toMatchObject({
      reason: 'sandbox_ended',
    });
  });
});
