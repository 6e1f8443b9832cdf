import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { isAirlockError } from '../../src/errors/index.ts';
import { baseImageTag, connectDocker } from '../../src/sandbox/image/index.ts';
import { DEFAULT_UID_RANGE, createDriver } from '../../src/sandbox/index.ts';
import {
  baseSpec,
  defineContainmentSuite,
  expectAirlockError,
  hostProcessesMatching,
  waitFor,
} from './containment-suite.ts';
import { startControlPlane } from './control-plane-process.ts';
import { dockerAvailability } from './docker-availability.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'airlock-docker-test-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const unavailable = await dockerAvailability('runc');
const runscUnavailable = await dockerAvailability('runsc');

defineContainmentSuite({
  name: 'docker (runc)',
  unavailable,
  stateDir,
  makeDriver: () => createDriver('docker', { stateDir }),
});

/** Under runtime runsc the container is a gVisor sandbox: the gaps are gVisor's (see gvisor.test.ts). */
defineContainmentSuite({
  name: 'docker (runsc)',
  unavailable: runscUnavailable,
  knownGaps: {
    'runs each session as a host uid of its own, from the range':
      "a gVisor sandbox's processes are not host processes: the sentry is their kernel, and every per-user limit is its own",
    'has its own namespaces of every kind':
      'the sentry has no cgroup namespace (/proc/self/ns/cgroup does not exist)',
    'runs as an unprivileged user with no capabilities, no_new_privs and a seccomp filter':
      "the sentry's /proc/<pid>/status has no CapAmb or NoNewPrivs line",
    'reports an OOM kill as such and keeps the session usable':
      'the sentry holds all of the sandbox memory in one host process: the cgroup limit ends the whole container',
    'leaves nothing on the host after destroy':
      "a gVisor sandbox's processes are never host processes, so the test cannot see them on the host",
  },
  stateDir,
  makeDriver: () => createDriver('docker', { stateDir, runtime: 'runsc' }),
});

/** Shared volumes (the supervisor and its files) a control plane with this pid made. */
async function sharedVolumesOf(controlPlanePid: number | undefined): Promise<string[]> {
  const { Volumes: volumes } = await connectDocker().listVolumes({
    filters: { label: ['dev.airlock.sandbox=shared'] },
  });
  return (volumes ?? [])
    .filter((volume) => volume.Labels?.['dev.airlock.session']?.startsWith(`${controlPlanePid}-`))
    .map((volume) => volume.Name);
}

/** Containers with this test process's sandbox label still present (running or not). */
async function containersOf(sandboxId: string): Promise<string[]> {
  const found = await connectDocker().listContainers({
    all: true,
    filters: { label: [`dev.airlock.sandbox=${sandboxId}`] },
  });
  return found.map((info) => info.Id);
}

describe.skipIf(unavailable !== undefined)('docker driver lifecycle', () => {
  it('labels its containers, says how it isolates, and removes the container on destroy', async () => {
    const driver = createDriver('docker', { stateDir });
    const sandbox = await driver.create(baseSpec);
    expect(sandbox.info).toMatchObject({ isolation: 'docker/runc', runtime: 'runc' });
    const [containerId] = await containersOf(sandbox.id);
    expect(containerId).toBeDefined();
    const inspected = await connectDocker().getContainer(containerId!).inspect();
    expect(inspected.HostConfig).toMatchObject({
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      Memory: baseSpec.memoryBytes,
      PidsLimit: baseSpec.pids,
    });
    // The session's own host uid, never a real account's (Docker's image user 1000 used to be one).
    const hostUid = sandbox.info?.processes?.hostUid;
    expect(inspected.Config.User).toBe(`${hostUid}:${hostUid}`);
    expect(hostUid).toBeGreaterThanOrEqual(DEFAULT_UID_RANGE.first);
    await sandbox.destroy();
    await driver.close();
    expect(await containersOf(sandbox.id)).toEqual([]);
    expect(await sharedVolumesOf(process.pid)).toEqual([]);
  });

  it('runs a local image given by reference, never pulling one that is missing', async () => {
    const docker = connectDocker();
    const tag = 'airlock-test/by-reference:1';
    const [repo, version] = tag.split(':') as [string, string];
    await docker.getImage(baseImageTag()).tag({ repo, tag: version });
    onTestFinished(async () => {
      await docker
        .getImage(tag)
        .remove()
        .catch(() => undefined);
    });
    const driver = createDriver('docker', { stateDir });
    try {
      const sandbox = await driver.create({ ...baseSpec, image: tag });
      expect(sandbox.info).toMatchObject({ image: tag });
      expect((await sandbox.exec('echo from $0')).stdout).toBe('from /bin/sh\n');
      await sandbox.destroy();
      const missing = await driver
        .create({ ...baseSpec, image: 'airlock-test/not-here:1' })
        .catch((e: unknown) => e);
      expect(isAirlockError(missing) && missing.code).toBe('SANDBOX_UNAVAILABLE');
      expect(String((missing as Error).message)).toMatch(/never pulls/);
    } finally {
      await driver.close();
    }
  });

  it('moves files with put/get semantics through the supervisor and reports usage from the stats API', async () => {
    const driver = createDriver('docker', { stateDir });
    const sandbox = await driver.create(baseSpec);
    try {
      await sandbox.writeFile('/tmp/data.bin', Buffer.alloc(300_000, 7));
      expect((await sandbox.readFile('/tmp/data.bin')).equals(Buffer.alloc(300_000, 7))).toBe(true);
      const stats = await sandbox.stats();
      expect(stats.memoryBytes).toBeGreaterThan(0);
      expect(stats.pids).toBeGreaterThan(0);
      expect(stats.pidsLimit).toBe(baseSpec.pids);
    } finally {
      await sandbox.destroy();
      await driver.close();
    }
  });

  it('ends the container with a crashed control plane, and sweeps its leftovers at the next start', async () => {
    const crashDir = mkdtempSync(join(tmpdir(), 'airlock-docker-crash-'));
    try {
      const { child, sandboxId: id } = await startControlPlane({
        driver: 'docker',
        stateDir: crashDir,
        command: 'sleep $((8280 + 1)) > /dev/null 2>&1 &',
      });
      expect(await waitFor(() => hostProcessesMatching('sleep 8281').length === 1, 2_000)).toBe(true);
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
      // StdinOnce: the supervisor's input closes with the attachment, so it exits and the container ends.
      expect(await waitFor(() => hostProcessesMatching('sleep 8281').length === 0, 5_000)).toBe(true);
      expect(await containersOf(id)).toHaveLength(1);
      expect(await sharedVolumesOf(child.pid)).toHaveLength(1);
      const removed = await createDriver('docker', { stateDir: crashDir }).sweepStale();
      expect(removed).toBeGreaterThanOrEqual(2);
      expect(await containersOf(id)).toEqual([]);
      expect(await sharedVolumesOf(child.pid)).toEqual([]);
    } finally {
      rmSync(crashDir, { recursive: true, force: true });
    }
  });

  it("sweeps a dead control plane's containers of this installation or of one whose state directory is gone, never another's", async () => {
    const docker = connectDocker();
    const otherHome = mkdtempSync(join(tmpdir(), 'airlock-docker-other-'));
    const deadPid = spawnSync('/bin/true').pid;
    const cases = {
      mine: { session: `${deadPid}-a1`, state: stateDir, swept: true },
      'gone installation': { session: `${deadPid}-a2`, state: join(otherHome, 'deleted'), swept: true },
      // Adversarial: another installation's dead control plane, and this one's live control plane.
      'other installation': { session: `${deadPid}-a3`, state: otherHome, swept: false },
      'live control plane': { session: `${process.pid}-a4`, state: stateDir, swept: false },
    };
    const made = new Map<string, string>();
    try {
      for (const [name, { session, state }] of Object.entries(cases)) {
        const container = await docker.createContainer({
          Image: baseImageTag(),
          Cmd: ['true'],
          Labels: {
            'dev.airlock.sandbox': `sweep-test-${process.pid}`,
            'dev.airlock.session': session,
            'dev.airlock.host': hostname(),
            'dev.airlock.state': state,
          },
        });
        made.set(name, container.id);
      }
      expect(made.size).toBe(4);
      await createDriver('docker', { stateDir }).sweepStale();
      const left = new Set(
        (
          await docker.listContainers({
            all: true,
            filters: { label: [`dev.airlock.sandbox=sweep-test-${process.pid}`] },
          })
        ).map((info) => info.Id),
      );
      for (const [name, { swept }] of Object.entries(cases)) {
        expect(left.has(made.get(name) ?? ''), name).toBe(!swept);
      }
    } finally {
      for (const id of made.values())
        await docker
          .getContainer(id)
          .remove({ force: true })
          .catch(() => {});
      rmSync(otherHome, { recursive: true, force: true });
    }
  });

  it('names the fix when the daemon is not running, the image is missing or the runtime is not registered', async () => {
    const cases = [
      { options: { dockerSocket: '/nonexistent/docker.sock' }, reason: 'ENOENT' },
      { options: { baseImage: 'airlock/missing:0' }, reason: 'image missing' },
      // A runtime name no daemon registers stands in for runsc on a machine without it.
      { options: { runtime: 'kata-unregistered' as 'runsc' }, reason: 'runtime not registered' },
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const { options, reason } of cases) {
      const error = await createDriver('docker', { stateDir, ...options })
        .create(baseSpec)
        .then(
          () => undefined,
          (caught: unknown) => caught as { code?: string; details?: { reason?: string } },
        );
      expect(error?.code, reason).toBe('SANDBOX_UNAVAILABLE');
      expect(error?.details?.reason).toBe(reason);
    }
  });

  it('refuses to checkpoint (Docker has no checkpoint here), naming the alternative', async () => {
    const driver = createDriver('docker', { stateDir });
    const sandbox = await driver.create(baseSpec);
    try {
      await expectAirlockError(sandbox.snapshot!(), 'SANDBOX_UNAVAILABLE');
      expect(driver.restore).toBeUndefined();
    } finally {
      await sandbox.destroy();
      await driver.close();
    }
  });

  it('refuses a rootfs path that is not an image directory', async () => {
    await expectAirlockError(
      createDriver('docker', { stateDir }).create({ ...baseSpec, image: '/nonexistent-rootfs' }),
      'INVALID_ARGUMENT',
    );
  });
});
