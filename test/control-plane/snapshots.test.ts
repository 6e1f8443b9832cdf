/**
 * Snapshots: a session's /workspace and /tmp saved, then new sessions started from them.
 */
import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/index.ts';
import { openAirlock } from './support.ts';

describe('a snapshot', () => {
  it('starts new sessions from the saved workspace and /tmp; forks do not see each other', async () => {
    const { airlock } = await openAirlock({ config: { router: { approvalRequiredFor: [] } } });
    const original = await airlock.sessions.create();
    await original.files.write('/workspace/src/app.txt', 'prepared\n');
    await original.files.write('/tmp/cache.txt', 'warm\n');
    expect((await original.run('mkdir -p build && echo built > build/out.txt')).exitCode).toBe(0);

    const snapshot = await original.snapshot('prepared');
    expect(snapshot.name).toBe('prepared');
    expect(snapshot.bytes).toBeGreaterThan(0);
    expect(airlock.snapshots.list().map((s) => s.id)).toContain(snapshot.id);

    const forkA = await airlock.sessions.create({ from: snapshot.id });
    const forkB = await airlock.sessions.create({ from: snapshot.id });
    expect((await forkA.files.read('/workspace/src/app.txt')).toString()).toBe('prepared\n');
    expect((await forkA.files.read('/tmp/cache.txt')).toString()).toBe('warm\n');
    expect((await forkA.run('cat build/out.txt')).stdout).toBe('built\n');

    await forkA.files.write('/workspace/src/app.txt', 'changed in A\n');
    expect((await forkB.files.read('/workspace/src/app.txt')).toString()).toBe('prepared\n');
    expect((await original.files.read('/workspace/src/app.txt')).toString()).toBe('prepared\n');
    // Files restored into a fork belong to the sandbox user, who can change them.
    expect((await forkB.run('echo more >> src/app.txt && cat src/app.txt')).stdout).toBe('prepared\nmore\n');

    const events = await airlock.audit.list({ types: ['snapshot.created'] });
    expect(events.map((event) => event.data['snapshotId'])).toContain(snapshot.id);
  });

  it('that does not exist, or an id that is not one, is refused before any sandbox starts', async () => {
    const { airlock } = await openAirlock();
    const missing = await airlock.sessions
      .create({ from: 'snap_000000000000000000000000' })
      .catch((e: unknown) => e);
    expect(isAirlockError(missing) && missing.code).toBe('NOT_FOUND');
    const bogus = await airlock.sessions.create({ from: '../../etc/passwd' }).catch((e: unknown) => e);
    expect(isAirlockError(bogus) && bogus.code).toBe('INVALID_ARGUMENT');
    expect((await airlock.sessions.list({ state: 'active' })).length).toBe(0);
  });
});
