/**
 * Crash safety: a control plane killed with SIGKILL mid-command leaves a store a new control plane
 * can close out — the command recorded as interrupted, no sandbox left running, the audit chain intact.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { connectDocker } from '../../src/sandbox/image/index.ts';
import { hostProcessesMatching } from '../containment/containment-suite.ts';
import { startControlPlane } from '../containment/control-plane-process.ts';
import { dockerAvailability } from '../containment/docker-availability.ts';
import { eventually, openAirlock, tempHome } from './support.ts';

const child = join(import.meta.dirname, 'fixtures', 'router-child.ts');

describe('after kill -9 of the process running a router', () => {
  it('a new router on the same store records the command as interrupted and nothing survives', async () => {
    const home = tempHome();
    // A duration no other test uses, so the host's process list tells whether this sandbox survived.
    const marker = '293.25';
    const proc = spawn(process.execPath, [child, home, marker], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: proc.stdout });
    const [line] = (await once(lines, 'line')) as [string];
    const started = JSON.parse(line) as {
      sessionId: string;
      commandId: string;
      pendingId: string;
      status: string;
    };
    expect(started.status).toBe('running');
    expect(await eventually(() => hostProcessesMatching(`sleep ${marker}`).length > 0)).toBe(true);

    proc.kill('SIGKILL');
    await once(proc, 'exit');
    // The sandbox dies with its control plane (die-with-parent), not only at the next start.
    expect(await eventually(() => hostProcessesMatching(`sleep ${marker}`).length === 0)).toBe(true);

    const { airlock } = await openAirlock({ home });
    expect(airlock.recovery).toMatchObject({ sessionsEnded: 1, commandsInterrupted: 2, approvalsExpired: 1 });
    const command = await airlock.commands.get(started.commandId);
    expect(command.status).toBe('failed');
    expect(command.error?.message).toMatch(/control plane stopped/);
    const session = await airlock.sessions.info(started.sessionId);
    expect(session.state).toBe('ended');
    expect(session.endReason).toMatch(/stopped unexpectedly/);
    expect((await airlock.approvals.list({ status: 'pending' })).length).toBe(0);
    const types = (await airlock.audit.list({ sessionId: started.sessionId })).map((event) => event.type);
    expect(types).toContain('execution.interrupted');
    expect(types.at(-1)).toBe('session.destroyed');
    // Host-side leftovers (spool directories) of the dead control plane's sandboxes are swept too.
    expect(readdirNames(join(home, 'sandboxes')).filter((name) => name.startsWith(`${proc.pid}-`))).toEqual(
      [],
    );
    expect(await airlock.audit.verify()).toMatchObject({ ok: true });
  });
});

describe('the audit chain', () => {
  it('fails verification when one event is edited, naming the event', async () => {
    const { airlock, home } = await openAirlock();
    const session = await airlock.sessions.create();
    await session.run('echo one');
    await session.run('echo two');
    const events = await airlock.audit.list();
    expect((await airlock.audit.verify()).ok).toBe(true);
    const target = events[3];
    expect(target).toBeDefined();

    const db = new DatabaseSync(join(home, 'airlock.db'));
    // An attacker with write access to the file can drop the guard triggers first.
    for (const row of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all()) {
      db.exec(`DROP TRIGGER "${String(row['name'])}"`);
    }
    db.prepare('UPDATE events SET data = ? WHERE seq = ?').run(
      '{"command":"echo harmless"}',
      target?.seq ?? 0,
    );
    db.close();

    const result = await airlock.audit.verify();
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.seq).toBe(target?.seq);
  });
});

const RUNSC = '/usr/bin/runsc';
const gvisorUnavailable =
  process.getuid?.() !== 0 ? 'the gVisor driver needs root' : !existsSync(RUNSC) ? `no ${RUNSC}` : undefined;
const dockerUnavailable = await dockerAvailability('runc');
const sweepSkip = gvisorUnavailable ?? dockerUnavailable;

function runscContainers(home: string): string[] {
  const listed = spawnSync(RUNSC, [`--root=${join(home, 'gvisor', 'runsc')}`, 'list', '--quiet'], {
    encoding: 'utf8',
  });
  return listed.stdout.split('\n').filter(Boolean);
}

async function dockerLeftovers(sandboxId: string, controlPlanePid: number | undefined): Promise<string[]> {
  const docker = connectDocker();
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`dev.airlock.sandbox=${sandboxId}`] },
  });
  const { Volumes: volumes } = await docker.listVolumes({
    filters: { label: ['dev.airlock.sandbox=shared'] },
  });
  return [
    ...containers.map((info) => `container ${info.Id}`),
    ...(volumes ?? [])
      .filter((volume) => volume.Labels?.['dev.airlock.session']?.startsWith(`${controlPlanePid}-`))
      .map((volume) => `volume ${volume.Name}`),
  ];
}

/** Session cgroups named for `sandboxId` under `parent`, in every hierarchy. */
function cgroupsOf(sandboxId: string, parent: string): string[] {
  return ['/sys/fs/cgroup', ...readdirNames('/sys/fs/cgroup').map((name) => join('/sys/fs/cgroup', name))]
    .flatMap((root) => readdirNames(join(root, parent)).map((name) => join(root, parent, name)))
    .filter((path) => path.endsWith(sandboxId));
}

describe.skipIf(sweepSkip !== undefined)(
  `the first control plane to start${sweepSkip === undefined ? '' : ` (skipped: ${sweepSkip})`}`,
  () => {
    it("sweeps a crashed control plane's gVisor sandbox and Docker container though its own driver is bwrap", async () => {
      const home = tempHome();
      // A cgroup parent of the test's own: another test's start-up sweep would take these otherwise.
      const cgroupParent = `airlock-sweep-test-${process.pid}`;
      try {
        const { child, sandboxIds } = await startControlPlane({
          driver: ['gvisor', 'docker'],
          stateDir: home,
          cgroupParent,
        });
        const [gvisorId = '', dockerId = ''] = sandboxIds;
        const gvisorContainer = `airlock-${child.pid}-${gvisorId}`;
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
        // The sandboxes end with their control plane; what they leave behind stays until a sweep.
        expect(await eventually(() => hostProcessesMatching(gvisorContainer).length === 0)).toBe(true);
        // runsc deletes its own container when the sandbox ends; its bundle, image skeleton and
        // cgroups are Airlock's to remove.
        expect(cgroupsOf(gvisorId, cgroupParent).length).toBeGreaterThan(0);
        expect(readdirNames(join(home, 'gvisor', 'sandboxes'))).toEqual([`${child.pid}-${gvisorId}`]);
        expect(readdirNames(join(home, 'gvisor', 'images')).length).toBe(1);
        expect(await dockerLeftovers(dockerId, child.pid)).toHaveLength(2);

        const { airlock } = await openAirlock({
          home,
          config: { sandbox: { driver: 'bwrap', cgroupParent } },
        });
        expect(airlock.config.sandbox.driver).toBe('bwrap');
        // The gVisor cgroup and bundle directory, the Docker container and its shared volume.
        expect(airlock.recovery.sandboxesSwept).toBeGreaterThanOrEqual(4);
        expect(runscContainers(home)).toEqual([]);
        expect(cgroupsOf(gvisorId, cgroupParent)).toEqual([]);
        expect(readdirNames(join(home, 'gvisor', 'sandboxes'))).toEqual([]);
        expect(readdirNames(join(home, 'gvisor', 'images'))).toEqual([]);
        expect(await dockerLeftovers(dockerId, child.pid)).toEqual([]);
        expect(readdirNames(join(home, 'docker', 'sandboxes'))).toEqual([]);
      } finally {
        rmSync(home, { recursive: true, force: true });
        for (const root of [
          '/sys/fs/cgroup',
          ...readdirNames('/sys/fs/cgroup').map((name) => join('/sys/fs/cgroup', name)),
        ]) {
          try {
            rmdirSync(join(root, cgroupParent));
          } catch {
            // best effort: a session cgroup left in it has been reported by the assertions above
          }
        }
      }
    }, 60_000);
  },
);

function readdirNames(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
