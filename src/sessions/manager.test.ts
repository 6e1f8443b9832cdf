import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AirlockError, isAirlockError } from '../errors/index.ts';
import { openStore } from '../store/index.ts';
import type { Store } from '../store/index.ts';
import { rejectedAirlockError } from '../../test/support/airlock-errors.ts';
import { createMemoryDriver } from '../../test/support/memory-driver/index.ts';
import type { MemoryDriver } from '../../test/support/memory-driver/index.ts';
import { createSessionManager } from './manager.ts';
import type { SessionManager, SessionManagerOptions } from './manager-api.ts';
import { createSnapshotStore } from './snapshots.ts';
import type { LiveSession, SessionAttachment } from './types.ts';

const MiB = 1024 * 1024;

interface Harness {
  readonly manager: SessionManager;
  readonly store: Store;
  readonly driver: MemoryDriver;
  readonly clock: { now: number };
  readonly ended: LiveSession[];
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const defaults: SessionManagerOptions['defaults'] = {
  driver: 'bwrap',
  sandbox: {
    image: 'host',
    memoryBytes: 256 * MiB,
    cpus: 1,
    pids: 64,
    scratchBytes: 16 * MiB,
    env: { LANG: 'C.UTF-8' },
    timeoutMs: 10_000,
  },
  idleTimeoutMs: 60_000,
  ttlMs: 3_600_000,
  maxTtlMs: 7_200_000,
  maxTimeoutMs: 60_000,
};

function harness(overrides: Partial<SessionManagerOptions> = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-sessions-'));
  const store = openStore({ kind: 'sqlite', path: ':memory:' }, { baseDir: dir });
  const driver = createMemoryDriver();
  const clock = { now: 1_000_000 };
  const ended: LiveSession[] = [];
  const manager = createSessionManager({
    store,
    driverFor: () => driver,
    snapshots: createSnapshotStore({ dir: join(dir, 'snapshots') }),
    owner: 'this-host:1:1',
    maxSessions: 4,
    now: () => clock.now,
    // Reaping is driven by the tests (`reap()`), not by a timer.
    reapIntervalMs: 3_600_000,
    defaults,
    onEnded: (session) => ended.push(session),
    ...overrides,
  });
  cleanups.push(async () => {
    await manager.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { manager, store, driver, clock, ended };
}

describe('session manager: creating', () => {
  it('records the session with its limits and env names, never the secret values', async () => {
    const { manager, store } = harness();
    const session = await manager.create({ memoryBytes: 128 * MiB, secretEnv: { TOKEN: 'value-kept-out' } });
    const record = await store.getSession(session.id);
    expect(record).toMatchObject({ state: 'active', driver: 'bwrap', owner: 'this-host:1:1' });
    expect(record?.spec['memoryBytes']).toBe(128 * MiB);
    expect(record?.spec['secretEnvNames']).toEqual(['TOKEN']);
    const events = await store.listEvents({ sessionId: session.id });
    expect(events.map((event) => event.type)).toEqual(['session.created']);
    expect(JSON.stringify([record, events])).not.toContain('value-kept-out');
  });

  it('refuses a session over the limit with LIMIT_REACHED, counting sessions being made', async () => {
    const { manager } = harness({ maxSessions: 2 });
    const results = await Promise.allSettled([manager.create(), manager.create(), manager.create()]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(2);
    const refused = results.find((result) => result.status === 'rejected');
    expect(isAirlockError(refused?.reason) && refused.reason.code).toBe('LIMIT_REACHED');
  });

  it('refuses bad options with INVALID_ARGUMENT before making a sandbox', async () => {
    const { manager, driver } = harness();
    expect((await rejectedAirlockError(manager.create({ idleTimeoutMs: -1 }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejectedAirlockError(manager.create({ timeoutMs: 120_000 }))).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect((await rejectedAirlockError(manager.create({ policy: 'lenient' as never }))).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect(driver.sandboxes).toHaveLength(0);
  });

  it('destroys the sandbox when the session cannot be recorded', async () => {
    const { manager, store, driver } = harness();
    await store.close();
    await expect(manager.create()).rejects.toThrow();
    expect(driver.sandboxes).toHaveLength(1);
    expect((await rejectedAirlockError(driver.sandboxes[0]?.exec('true') ?? Promise.resolve())).code).toBe(
      'SANDBOX_DESTROYED',
    );
  });

  it('passes a driver failure through and holds no slot for it', async () => {
    const { manager, driver } = harness({ maxSessions: 1 });
    driver.failNextCreate(new AirlockError('SANDBOX_UNAVAILABLE', 'no sandbox today'));
    expect((await rejectedAirlockError(manager.create())).code).toBe('SANDBOX_UNAVAILABLE');
    await expect(manager.create()).resolves.toBeDefined();
  });
});

describe('session manager: finding and ending', () => {
  it('answers NOT_FOUND for an unknown id and SESSION_ENDED for an ended one', async () => {
    const { manager } = harness();
    expect((await rejectedAirlockError(manager.get('ses_000000000000000000000000'))).code).toBe('NOT_FOUND');
    expect((await rejectedAirlockError(manager.get('../etc/passwd'))).code).toBe('NOT_FOUND');
    const session = await manager.create();
    await manager.destroy(session.id);
    expect((await rejectedAirlockError(manager.get(session.id))).code).toBe('SESSION_ENDED');
  });

  it('ends a session once, destroying its sandbox and recording why', async () => {
    const { manager, store, driver, ended } = harness();
    const session = await manager.create();
    await Promise.all([manager.destroy(session.id), manager.destroy(session.id)]);
    await manager.destroy(session.id);
    expect(ended).toHaveLength(1);
    expect(session.ending.signal.aborted).toBe(true);
    expect((await rejectedAirlockError(driver.sandboxes[0]?.exec('true') ?? Promise.resolve())).code).toBe(
      'SANDBOX_DESTROYED',
    );
    const record = await store.getSession(session.id);
    expect(record).toMatchObject({ state: 'ended', endReason: 'destroyed on request' });
    const destroyed = await store.listEvents({ sessionId: session.id, types: ['session.destroyed'] });
    expect(destroyed.map((event) => event.data['reason'])).toEqual(['closed']);
  });

  it('ends the session of a sandbox that died on its own', async () => {
    const { manager, store, driver, ended } = harness();
    const session = await manager.create();
    driver.sandboxes[0]?.crash();
    await expect.poll(() => ended.length).toBe(1);
    expect(session.endCode).toBe('sandbox_ended');
    expect((await store.getSession(session.id))?.endReason).toBe('the sandbox ended unexpectedly');
  });

  it('ends every session on close and refuses new ones', async () => {
    const { manager, ended } = harness();
    await Promise.all([manager.create(), manager.create()]);
    await manager.close();
    expect(ended.map((session) => session.endCode)).toEqual(['shutdown', 'shutdown']);
    expect((await rejectedAirlockError(manager.create())).code).toBe('SANDBOX_DESTROYED');
  });
});

describe('session manager: reaping', () => {
  it('ends a session idle past its timeout, but never one with work in flight', async () => {
    const { manager, clock } = harness();
    const idle = await manager.create({ idleTimeoutMs: 1000 });
    const busy = await manager.create({ idleTimeoutMs: 1000 });
    const done = manager.beginWork(busy);
    clock.now += 1500;
    expect(await manager.reap()).toBe(1);
    expect(idle.endCode).toBe('idle_timeout');
    expect(busy.phase).toBe('active');
    done();
    expect(busy.lastActiveAt).toBe(clock.now);
    clock.now += 999;
    expect(await manager.reap()).toBe(0);
    clock.now += 1;
    expect(await manager.reap()).toBe(1);
    expect(busy.endCode).toBe('idle_timeout');
  });

  it('ends a session at the end of its lifetime even while it works', async () => {
    const { manager, clock } = harness();
    const session = await manager.create({ ttlMs: 5000 });
    manager.beginWork(session);
    clock.now += 5000;
    expect(await manager.reap()).toBe(1);
    expect(session.endCode).toBe('lifetime_expired');
  });

  it('extends a lifetime within the maximum, records it, and refuses past the maximum', async () => {
    const { manager, clock, store } = harness();
    const session = await manager.create({ ttlMs: 5000, idleTimeoutMs: 3_600_000 });
    clock.now += 4000;
    await manager.extend(session.id, 60_000);
    clock.now += 59_999;
    expect(await manager.reap()).toBe(0);
    const refused = await rejectedAirlockError(manager.extend(session.id, 7_200_000));
    expect(refused.code).toBe('INVALID_ARGUMENT');
    expect(refused.details).toMatchObject({ field: 'expiresInMs' });
    expect((await rejectedAirlockError(manager.extend(session.id, 0))).code).toBe('INVALID_ARGUMENT');
    expect((await rejectedAirlockError(manager.create({ ttlMs: 7_200_001 }))).code).toBe('INVALID_ARGUMENT');
    const events = await store.listEvents({ sessionId: session.id });
    expect(events.filter((event) => event.type === 'session.extended')).toHaveLength(1);
    clock.now += 1;
    expect(await manager.reap()).toBe(1);
    expect(session.endCode).toBe('lifetime_expired');
    expect((await rejectedAirlockError(manager.extend(session.id, 1000))).code).toBe('SESSION_ENDED');
  });

  it('counts activity only through the manager: touch moves the idle clock', async () => {
    const { manager, clock } = harness();
    const session = await manager.create({ idleTimeoutMs: 1000 });
    clock.now += 900;
    manager.touch(session);
    clock.now += 900;
    expect(await manager.reap()).toBe(0);
  });
});

describe('session manager: remembered approvals', () => {
  it('remembers what a person approved for the session, and nothing for another session', async () => {
    const { manager } = harness();
    const one = await manager.create();
    const other = await manager.create();
    manager.remember(one, ['git push origin main']);
    expect(one.remembered.has('git push origin main')).toBe(true);
    expect(other.remembered.size).toBe(0);
  });

  it("keeps program and host grants per session; a host grant widens only that session's capabilities", async () => {
    const network = {
      mode: 'ask' as const,
      allow: ['api.example.test'],
      registryNames: {},
      hosts: {},
      secrets: [],
    };
    const attach = (): Promise<SessionAttachment> =>
      Promise.resolve({ env: {}, network, secrets: [], close: () => Promise.resolve() });
    const { manager } = harness({ attach });
    const one = await manager.create();
    const other = await manager.create();
    const before = one.capabilities;
    manager.grant(one, { scope: 'program', covers: ['npm'] });
    manager.grant(one, { scope: 'host', covers: ['files.example.test'] });
    expect([...one.grantedPrograms]).toEqual(['npm']);
    expect(one.capabilities).not.toBe(before);
    expect(one.capabilities.network.allow).toEqual(['api.example.test', 'files.example.test']);
    expect(other.capabilities.network.allow).toEqual(['api.example.test']);
    expect(other.grantedPrograms.size).toBe(0);
  });
});

describe('session manager: what the policy is told about a session', () => {
  it('gives commands a HOME in the scratch, outside /workspace, and makes it', async () => {
    const { manager } = harness();
    const session = await manager.create();
    expect(session.settings.sandbox.env['HOME']).toBe('/tmp/home');
    const home = await session.sandbox.listFiles('/tmp/home');
    expect(home.map((entry) => entry.name)).toEqual(['.profile']);
    expect((await session.sandbox.listFiles('/workspace')).length).toBe(0);
    // A HOME the caller chose is theirs.
    const chosen = await manager.create({ env: { HOME: '/workspace/.home' } });
    expect(chosen.settings.sandbox.env['HOME']).toBe('/workspace/.home');
    expect(chosen.capabilities.home).toBe('/workspace/.home');
  });

  it('computes the capabilities once: driver, no network by default, secret variables, writable roots, home', async () => {
    const { manager } = harness();
    const session = await manager.create({ secretEnv: { API_TOKEN: 'value-kept-out' } });
    expect(session.capabilities).toEqual({
      driver: 'bwrap',
      network: { mode: 'none', allow: [], registryNames: {} },
      secrets: { envNames: ['API_TOKEN'], files: [], placeholders: [] },
      writableRoots: ['/workspace', '/tmp'],
      workspace: '/workspace',
      home: '/tmp/home',
    });
    expect(session.capabilities).toBe(session.capabilities);
  });

  it('registers a secret file: its path for the policy, its values for redaction, each once', async () => {
    const { manager } = harness();
    const session = await manager.create();
    const value = { name: 'DB_PASSWORD', value: 'correct-horse-battery' };
    manager.addSecretFile(session, '/workspace/.env', [value]);
    const first = session.fileSecrets;
    manager.addSecretFile(session, '/workspace/.env', [value]);
    expect(session.capabilities.secrets.files).toEqual(['/workspace/.env']);
    expect(session.fileSecrets).toEqual([value]);
    expect(session.fileSecrets).toBe(first);
  });
});

describe('session manager: recovery', () => {
  it("ends a dead control plane's sessions, interrupting its commands and expiring its approvals", async () => {
    const { manager, store } = harness();
    const at = new Date(0).toISOString();
    await store.commit({
      sessions: [
        {
          id: 'ses_aaaaaaaaaaaaaaaaaaaaaaaa',
          state: 'active',
          driver: 'bwrap',
          sandboxId: null,
          spec: {},
          // pid 1 never has this start time, so the owner is certainly gone.
          owner: `${(await import('node:os')).hostname()}:1:999999999`,
          createdAt: at,
          lastActiveAt: at,
          expiresAt: null,
          endedAt: null,
          endReason: null,
        },
      ],
      commands: [
        {
          id: 'cmd_aaaaaaaaaaaaaaaaaaaaaaaa',
          sessionId: 'ses_aaaaaaaaaaaaaaaaaaaaaaaa',
          command: 'sleep 100',
          state: 'running',
          background: false,
          decision: 'allow',
          reasons: [],
          approvalId: null,
          exitCode: null,
          signal: null,
          outputId: null,
          createdAt: at,
          startedAt: at,
          finishedAt: null,
          durationMs: null,
        },
      ],
    });
    const report = await manager.recover(async () => 0);
    expect(report).toMatchObject({ sessionsEnded: 1, commandsInterrupted: 1 });
    expect((await store.getCommand('cmd_aaaaaaaaaaaaaaaaaaaaaaaa'))?.state).toBe('interrupted');
    expect((await store.getSession('ses_aaaaaaaaaaaaaaaaaaaaaaaa'))?.state).toBe('ended');
    const types = (await store.listEvents({})).map((event) => event.type);
    expect(types).toEqual(['execution.interrupted', 'session.destroyed', 'recovery.completed']);
  });
});
