import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDriver } from '../../src/sandbox/index.ts';
import type { Sandbox } from '../../src/sandbox/index.ts';
import { GVISOR_MEMORY_OVERHEAD_BYTES, gvisorHostPidsLimit } from '../../src/sandbox/drivers/gvisor/plan.ts';
import {
  MiB,
  baseSpec,
  defineContainmentSuite,
  expectAirlockError,
  hostProcessesMatching,
  readdirSafe,
  waitFor,
} from './containment-suite.ts';
import { startControlPlane } from './control-plane-process.ts';
import { defaultHelperPath } from '../../src/sandbox/supervisor/helper-binary.ts';

const runscMissing = ['/usr/bin/runsc', '/usr/local/bin/runsc', '/usr/sbin/runsc'].every(
  (path) => !existsSync(path),
);
const unavailable =
  process.platform !== 'linux'
    ? 'not Linux'
    : runscMissing
      ? 'runsc (gVisor) is not installed'
      : process.getuid?.() !== 0
        ? 'the gVisor driver needs root'
        : undefined;
const stateDir = mkdtempSync(join(tmpdir(), 'airlock-gvisor-test-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

/**
 * What gVisor itself does not offer (runsc 20240729, the release Debian ships). Each is a feature of
 * the sentry's kernel that the test reads directly; none is a setting Airlock could change.
 */
const knownGaps = {
  'runs each session as a host uid of its own, from the range':
    "a gVisor sandbox's processes are not host processes: the sentry is their kernel, and every per-user limit is its own, per sandbox (the limits test below runs as everywhere)",
  'has its own namespaces of every kind':
    'the sentry has no cgroup namespace (/proc/self/ns/cgroup does not exist); the other six are its own',
  'runs as an unprivileged user with no capabilities, no_new_privs and a seccomp filter':
    "the sentry's /proc/<pid>/status has no CapAmb or NoNewPrivs line; the lifecycle test below checks the same facts another way (prctl for no_new_privs)",
  'reports an OOM kill as such and keeps the session usable':
    "the sentry holds all of the sandbox's memory in one host process, so the host cgroup limit ends the whole sandbox (SANDBOX_LOST) instead of one command; gVisor has no OOM killer of its own",
  'leaves nothing on the host after destroy':
    "a gVisor sandbox's processes live inside the sentry and are never host processes, so the test cannot see the background command on the host in the first place; the lifecycle test below checks that no runsc process outlives destroy",
};

defineContainmentSuite({
  name: 'gvisor',
  unavailable,
  knownGaps,
  stateDir,
  makeDriver: () => createDriver('gvisor', { stateDir }),
});

const runsc = '/usr/bin/runsc';

/** Host processes of one sandbox: runsc, its gofer and sentry carry the container id in argv. */
function runscProcessesOf(sandboxId: string): number[] {
  return hostProcessesMatching(`airlock-${process.pid}-${sandboxId}`);
}

/**
 * A host cgroup limit of a process, read through /proc/<pid>/cgroup (cgroup v1 or v2):
 * `controller` and `file` name the v1 controller and file, `v2File` the unified one.
 */
function cgroupLimitOf(pid: number, controller: string, file: string, v2File: string): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const v1 = lines.find((line) => line.split(':')[1]?.split(',').includes(controller));
  if (v1) return readFileSync(`/sys/fs/cgroup/${controller}${v1.split(':')[2]}/${file}`, 'utf8').trim();
  const v2 = lines.find((line) => line.startsWith('0::'));
  return readFileSync(`/sys/fs/cgroup${v2?.slice(3) ?? ''}/${v2File}`, 'utf8').trim();
}

function listedContainers(dir: string): string[] {
  const listed = spawnSync(runsc, [`--root=${join(dir, 'gvisor', 'runsc')}`, 'list', '--quiet'], {
    encoding: 'utf8',
  });
  return listed.stdout.split('\n').filter(Boolean);
}

describe.skipIf(unavailable !== undefined)('gvisor driver lifecycle', () => {
  it('refuses the processes it launches only the membarrier registration that costs a grace period', () => {
    // membarrier: QUERY (0) lists what the kernel supports; REGISTER_PRIVATE_EXPEDITED (16) is what
    // runsc registers for at start-up and only its KVM platform uses.
    const probe = [
      'import ctypes, os',
      'libc = ctypes.CDLL(None, use_errno=True)',
      "nr = {'x86_64': 324, 'aarch64': 283}[os.uname().machine]",
      'supported = libc.syscall(nr, 0, 0)',
      'registered = libc.syscall(nr, 16, 0)',
      'print(supported, registered, ctypes.get_errno() if registered != 0 else 0)',
    ].join('\n');
    const run = (flags: string[]) =>
      spawnSync(defaultHelperPath, ['launch', ...flags, '--', '/usr/bin/python3', '-c', probe], {
        encoding: 'utf8',
        env: {},
      });
    const [supported, registered] = run([]).stdout.trim().split(' ').map(Number);
    expect((supported ?? 0) & 16, 'this kernel supports the registration').toBe(16);
    expect(registered).toBe(0);

    const refused = run(['--no-membarrier-registration']).stdout.trim().split(' ').map(Number);
    expect(refused[0], 'QUERY still answers, so the global barrier stays available').toBe(supported);
    expect(refused.slice(1)).toEqual([-1, 1]); // -1 with EPERM
  });

  it("reports a runsc that fails to start with runsc's error, not its log notices", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-failing-runsc-'));
    const failingRunsc = join(dir, 'runsc');
    writeFileSync(
      failingRunsc,
      [
        '#!/bin/sh',
        `echo 'W1127 15:39:17.533640   30137 membarrier.go:48] membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) failed: operation not permitted' >&2`,
        'case "$*" in *" run "*) echo "running container: creating container: no such bundle" >&2; exit 128;; esac',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const driver = createDriver('gvisor', {
      stateDir: join(dir, 'state'),
      runscPath: failingRunsc,
      platform: 'systrap',
    });
    try {
      const failure = await driver.create(baseSpec).then(
        () => undefined,
        (error: unknown) => error as Error & { code?: string },
      );
      expect(failure?.code).toBe('SANDBOX_UNAVAILABLE');
      expect(failure?.message).toBe(
        'the gVisor sandbox did not start: running container: creating container: no such bundle',
      );
    } finally {
      await driver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs unprivileged with no capabilities, no_new_privs and a seccomp filter, and says which platform', async () => {
    const driver = createDriver('gvisor', { stateDir });
    const sandbox = await driver.create(baseSpec);
    try {
      expect(['systrap', 'kvm', 'ptrace']).toContain(sandbox.info?.platform);
      const result = await sandbox.exec(
        'id -u; grep -E "^(CapInh|CapPrm|CapEff|CapBnd|Seccomp):" /proc/self/status; ' +
          'python3 -c "import ctypes; print(\'nnp\', ctypes.CDLL(None).prctl(39, 0, 0, 0, 0))"',
      );
      expect(result.stdout).toMatch(/^1000$/m);
      for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd'])
        expect(result.stdout).toMatch(new RegExp(`^${cap}:\\s+0{16}$`, 'm'));
      expect(result.stdout).toMatch(/^Seccomp:\s+2$/m);
      expect(result.stdout).toMatch(/^nnp 1$/m);
    } finally {
      await sandbox.destroy();
      await driver.close();
    }
  });

  it('leaves no runsc process, cgroup or runsc state behind after destroy', async () => {
    const driver = createDriver('gvisor', { stateDir });
    const sandbox = await driver.create(baseSpec);
    await sandbox.exec('sleep $((7770+2)) > /dev/null 2>&1 &');
    expect(runscProcessesOf(sandbox.id).length).toBeGreaterThan(0);
    expect(listedContainers(stateDir)).toContain(`airlock-${process.pid}-${sandbox.id}`);
    await sandbox.destroy();
    await driver.close();
    expect(await waitFor(() => runscProcessesOf(sandbox.id).length === 0, 3_000)).toBe(true);
    expect(readdirSafe('/sys/fs/cgroup/pids/airlock').filter((name) => name.endsWith(sandbox.id))).toEqual(
      [],
    );
    expect(listedContainers(stateDir)).not.toContain(`airlock-${process.pid}-${sandbox.id}`);
    expect(
      readdirSafe(join(stateDir, 'gvisor', 'sandboxes')).filter((name) => name.endsWith(sandbox.id)),
    ).toEqual([]);
    await expectAirlockError(sandbox.exec('true'), 'SANDBOX_DESTROYED');
  });

  it('gives a sandbox from a launcher started ahead of need its own limits, not the parked ones', async () => {
    const driver = createDriver('gvisor', { stateDir });
    try {
      await (await driver.create(baseSpec)).destroy();
      // The spare launcher parks after a short delay with tiny placeholder limits (16 MiB, 8 pids).
      await new Promise((resolve) => setTimeout(resolve, 300));
      const spec = { ...baseSpec, memoryBytes: 96 * MiB, pids: 48 };
      const sandbox = await driver.create(spec);
      try {
        const [pid] = runscProcessesOf(sandbox.id);
        expect(pid).toBeDefined();
        const memory = cgroupLimitOf(pid ?? 0, 'memory', 'memory.limit_in_bytes', 'memory.max');
        expect(Number(memory)).toBe(spec.memoryBytes + GVISOR_MEMORY_OVERHEAD_BYTES);
        expect(Number(cgroupLimitOf(pid ?? 0, 'pids', 'pids.max', 'pids.max'))).toBe(
          gvisorHostPidsLimit(spec.pids),
        );
        // More processes than the parked limit allows, and a working sandbox to start them.
        const forks = await sandbox.exec('for i in $(seq 20); do sleep 0.2 & done; jobs | wc -l; wait');
        expect(forks.stdout.trim()).toBe('20');
      } finally {
        await sandbox.destroy();
      }
    } finally {
      await driver.close();
    }
  });

  it('ends the sandbox with a crashed control plane, and sweeps its leftovers at the next start', async () => {
    const crashDir = mkdtempSync(join(tmpdir(), 'airlock-gvisor-crash-'));
    try {
      const { child, sandboxId: id } = await startControlPlane({ driver: 'gvisor', stateDir: crashDir });
      const containerId = `airlock-${child.pid}-${id}`;
      expect(hostProcessesMatching(containerId).length).toBeGreaterThan(0);
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
      // The supervisor reads end of file on its channel and exits; the sandbox ends with it.
      expect(await waitFor(() => hostProcessesMatching(containerId).length === 0, 5_000)).toBe(true);
      const removed = await createDriver('gvisor', { stateDir: crashDir }).sweepStale();
      expect(removed).toBeGreaterThanOrEqual(1);
      expect(readdirSafe('/sys/fs/cgroup/pids/airlock').filter((name) => name.endsWith(id))).toEqual([]);
      expect(listedContainers(crashDir)).toEqual([]);
      expect(readdirSafe(join(crashDir, 'gvisor', 'sandboxes'))).toEqual([]);
    } finally {
      rmSync(crashDir, { recursive: true, force: true });
    }
  });

  it('checkpoints a running sandbox and restores a copy with its files and processes; the original goes on', async () => {
    const driver = createDriver('gvisor', { stateDir });
    const original = await driver.create(baseSpec);
    let restored: Sandbox | undefined;
    try {
      await original.exec('echo kept > /workspace/state.txt; sleep $((9990+1)) > /dev/null 2>&1 &');
      const snapshot = await original.snapshot!();
      expect(snapshot).toMatchObject({ driver: 'gvisor' });
      expect(snapshot.sizeBytes).toBeGreaterThan(0);
      await original.exec('echo changed > /workspace/state.txt');
      restored = await driver.restore!(snapshot);
      expect(restored.id).not.toBe(original.id);
      const view = await restored.exec('cat /workspace/state.txt; cat /proc/[0-9]*/cmdline | tr "\\0" " "');
      expect(view.stdout).toMatch(/^kept$/m);
      expect(view.stdout).toContain('sleep 9991');
      expect((await original.readFile('state.txt')).toString()).toBe('changed\n');
      // A forged snapshot id cannot point the restore elsewhere on the host (adversarial).
      await expectAirlockError(driver.restore!({ ...snapshot, id: '../../../etc' }), 'INVALID_ARGUMENT');
    } finally {
      await restored?.destroy();
      await original.destroy();
      await driver.close();
    }
  });

  it('refuses to start without runsc or the helper, naming the fix', async () => {
    await expectAirlockError(
      createDriver('gvisor', { stateDir, runscPath: '/nonexistent/runsc' }).create(baseSpec),
      'SANDBOX_UNAVAILABLE',
    );
    await expectAirlockError(
      createDriver('gvisor', { stateDir, helperPath: '/nonexistent/airlock-helper' }).create(baseSpec),
      'SANDBOX_UNAVAILABLE',
    );
  });

  it("runs a rootfs directory image: its own files, read-only, with Airlock's mounts on top", async () => {
    const image = mkdtempSync(join(tmpdir(), 'airlock-gvisor-rootfs-'));
    const driver = createDriver('gvisor', { stateDir });
    try {
      for (const dir of ['usr/bin', 'etc']) mkdirSync(join(image, dir), { recursive: true });
      symlinkSync('usr/bin', join(image, 'bin'));
      // A static binary needs no libraries: the helper itself stands in for a tool.
      copyFileSync(new URL('../../build/airlock-helper', import.meta.url), join(image, 'usr/bin/tool'));
      writeFileSync(join(image, 'etc/os-release'), 'ID=airlock-test-image\n');
      const sandbox = await driver.create({ ...baseSpec, image });
      try {
        expect(sandbox.info?.isolation).toBe('gvisor');
        await sandbox.writeFile('note.txt', 'written');
        expect((await sandbox.readFile('note.txt')).toString()).toBe('written');
        const listing = await sandbox.listFiles('/workspace');
        expect(listing.map((entry) => entry.name)).toEqual(['note.txt']);
      } finally {
        await sandbox.destroy();
      }
    } finally {
      await driver.close();
      rmSync(image, { recursive: true, force: true });
    }
  });
});
