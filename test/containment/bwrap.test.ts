import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  rmdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDriver } from '../../src/sandbox/index.ts';
import { defaultUidLockDir } from '../../src/sandbox/host-uids/index.ts';
import type { Driver, DriverOptions } from '../../src/sandbox/index.ts';
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

const bwrapMissing = ['/usr/bin/bwrap', '/usr/local/bin/bwrap'].every((path) => !existsSync(path));
const unavailable =
  process.platform !== 'linux' ? 'not Linux' : bwrapMissing ? 'bwrap is not installed' : undefined;
const stateDir = mkdtempSync(join(tmpdir(), 'airlock-bwrap-test-'));

afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const openDrivers: Driver[] = [];
/** Drivers made by a test are closed after it, so spare launchers never outlive their test. */
function driverFor(options: DriverOptions = {}): Driver {
  const driver = createDriver('bwrap', { stateDir, ...options });
  openDrivers.push(driver);
  return driver;
}
afterEach(async () => {
  await Promise.all(openDrivers.splice(0).map((driver) => driver.close()));
});

defineContainmentSuite({
  name: 'bwrap',
  unavailable,
  stateDir,
  makeDriver: () => createDriver('bwrap', { stateDir }),
});

/** Every cgroup directory of a sandbox, across all hierarchies. */
/** The cgroup hierarchy roots: /sys/fs/cgroup itself (v2) and each v1 controller's mount. */
function cgroupRoots(): string[] {
  return ['/sys/fs/cgroup', ...readdirSafe('/sys/fs/cgroup').map((name) => join('/sys/fs/cgroup', name))];
}

function cgroupDirsOf(sandboxId: string, parent = 'airlock'): string[] {
  const found: string[] = [];
  for (const root of cgroupRoots()) {
    for (const name of readdirSafe(join(root, parent)))
      if (name.endsWith(sandboxId)) found.push(join(root, parent, name));
  }
  return found;
}

/** A tiny rootfs: a few host binaries with the shared libraries `ldd` names, and a minimal /etc. */
function buildMinimalRootfs(root: string, binaries: string[]): void {
  for (const dir of ['usr/bin', 'usr/lib', 'usr/lib64', 'etc'])
    mkdirSync(join(root, dir), { recursive: true });
  for (const [link, target] of [
    ['bin', 'usr/bin'],
    ['lib', 'usr/lib'],
    ['lib64', 'usr/lib64'],
  ] as const) {
    symlinkSync(target, join(root, link));
  }
  for (const binary of binaries) {
    copyFileSync(binary, join(root, binary));
    const libraries = spawnSync('ldd', [binary], { encoding: 'utf8' }).stdout.match(/\/\S+/g) ?? [];
    for (const library of libraries) {
      const target = join(root, library.startsWith('/usr/') ? library : `/usr${library}`);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(library, target);
    }
  }
  writeFileSync(join(root, 'etc/os-release'), 'ID=airlock-test-image\n');
  for (const file of ['passwd', 'group', 'hosts']) writeFileSync(join(root, 'etc', file), '');
}

describe.skipIf(unavailable !== undefined)('bwrap driver lifecycle', () => {
  afterAll(() => {
    // Every sandbox was destroyed and every driver closed: no cgroup of this process may remain,
    // spare launchers included.
    const ours = readdirSafe('/sys/fs/cgroup/pids/airlock').filter((name) =>
      name.startsWith(`${process.pid}-`),
    );
    expect(ours).toEqual([]);
  });

  it('removes its cgroups and state directory on destroy', async () => {
    const driver = driverFor();
    const sandbox = await driver.create(baseSpec);
    expect(cgroupDirsOf(sandbox.id).length).toBeGreaterThan(0);
    const sessionDirs = () =>
      readdirSafe(join(stateDir, 'sandboxes')).filter((name) => name.endsWith(sandbox.id));
    expect(sessionDirs()).toHaveLength(1);
    await sandbox.destroy();
    expect(cgroupDirsOf(sandbox.id)).toEqual([]);
    expect(sessionDirs()).toEqual([]);
  });

  it('takes the sandbox down with a crashed control plane, and sweeps its leftovers at the next start', async () => {
    const crashDir = mkdtempSync(join(tmpdir(), 'airlock-crash-test-'));
    const cgroupParent = `airlock-crash-test-${process.pid}`;
    try {
      const { child, sandboxId: id } = await startControlPlane({
        driver: 'bwrap',
        stateDir: crashDir,
        command: 'sleep $((8180 + 1)) > /dev/null 2>&1 &',
        cgroupParent,
      });
      // The background sleep may still be a forked shell for a moment before it execs.
      expect(await waitFor(() => hostProcessesMatching('sleep 8181').length === 1, 2_000)).toBe(true);
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
      // --die-with-parent: the sandbox's init dies with bwrap's parent, and the pid namespace with it.
      expect(await waitFor(() => hostProcessesMatching('sleep 8181').length === 0, 3_000)).toBe(true);
      expect(cgroupDirsOf(id, cgroupParent).length).toBeGreaterThan(0);
      // Its host uids (its sandbox's and its spare launcher's) are still recorded as held, by a
      // control plane that is gone.
      const heldByIt = () =>
        readdirSafe(defaultUidLockDir()).filter((name) => name.includes(`.${child.pid}-`));
      expect(heldByIt().length).toBeGreaterThan(0);
      const next = createDriver('bwrap', { stateDir: crashDir, cgroupParent });
      const removed = await next.sweepStale();
      expect(removed).toBeGreaterThanOrEqual(1);
      expect(cgroupDirsOf(id, cgroupParent)).toEqual([]);
      expect(readdirSafe(join(crashDir, 'sandboxes'))).toEqual([]);
      // Once the last process of those uids is reaped (the sweep killed them a moment ago), they are
      // free for the next sessions.
      for (let tries = 0; tries < 40 && heldByIt().length > 0; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        await next.sweepStale();
      }
      expect(heldByIt()).toEqual([]);
    } finally {
      rmSync(crashDir, { recursive: true, force: true });
      // The test's own parent, empty once swept. ENOENT: cpu and cpuacct may be one mount; anything
      // else means a session cgroup is still in it, which the assertions above have reported.
      for (const root of cgroupRoots()) {
        try {
          rmdirSync(join(root, cgroupParent));
        } catch {
          // best effort: see above
        }
      }
    }
  });

  it('keeps full outputs on disk only for the latest commands, so a long session cannot fill the disk', async () => {
    const driver = driverFor({ captureLimits: { maxMemoryBytes: 1024, maxStoredBytes: 8192 } });
    const sandbox = await driver.create(baseSpec);
    try {
      const spoolFiles = () =>
        readdirSafe(join(stateDir, 'sandboxes', `${process.pid}-${sandbox.id}`)).filter((name) =>
          /\.std(out|err)$/.test(name),
        );
      const first = await sandbox.exec('head -c 5000 /dev/zero | tr "\\0" a');
      expect(first.stdoutStream.read(4000, 10).toString()).toBe('aaaaaaaaaa');
      for (let i = 0; i < 40; i += 1)
        await sandbox.exec('head -c 5000 /dev/zero | tr "\\0" b; head -c 3000 /dev/zero >&2');
      expect(spoolFiles().length).toBeLessThanOrEqual(32);
      // The oldest result lost its spool but keeps its in-memory head.
      expect(first.stdoutStream.read(4000, 10).length).toBe(0);
      expect(first.stdout).toHaveLength(1024);
    } finally {
      await sandbox.destroy();
    }
  });

  it('hands out pre-warmed sandboxes that have run nothing, and removes idle ones on close', async () => {
    const ownCgroups = () =>
      readdirSafe('/sys/fs/cgroup/pids/airlock').filter((name) => name.startsWith(`${process.pid}-`));
    const before = ownCgroups().length;
    const driver = driverFor({ prewarm: 2 });
    const first = await driver.create(baseSpec);
    await first.exec(
      'echo dirty > /workspace/dirty; echo dirty > /tmp/dirty; sleep $((9000+1)) > /dev/null 2>&1 &',
    );
    await waitFor(() => ownCgroups().length >= before + 3, 5_000);
    const second = await driver.create(baseSpec);
    expect(second.id).not.toBe(first.id);
    const view = await second.exec('ls -A /workspace /tmp; cat /proc/[0-9]*/cmdline | tr "\\0" " "');
    expect(view.stdout).not.toContain('dirty');
    expect(view.stdout).not.toContain('sleep 9001');
    await first.destroy();
    await second.destroy();
    await driver.close();
    expect(await waitFor(() => ownCgroups().length === before, 3_000)).toBe(true);
  });

  it('gives a sandbox from a launcher started ahead of need its own spec, not the parked limits', async () => {
    const driver = driverFor();
    await (await driver.create(baseSpec)).destroy();
    // The spare launcher parks after a short delay with tiny placeholder limits (16 MiB, 8 pids);
    // perl needs about twice the string size, so 24 MiB only fits under the spec's 96 MiB.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sandbox = await driver.create({ ...baseSpec, memoryBytes: 96 * MiB, pids: 64 });
    try {
      const fits = await sandbox.exec(`perl -e '$x = "a" x (24 * 1024 * 1024); print "ok\\n"'`);
      expect(fits.stdout).toBe('ok\n');
      const forks = await sandbox.exec(
        `perl -e '$n = 0; for (1..30) { my $p = fork; last unless defined $p; if (!$p) { sleep 2; exit } $n++ } print "$n\\n"'`,
      );
      expect(Number(forks.stdout.trim())).toBe(30);
      const tooBig = await sandbox.exec(`perl -e '$x = "a" x (200 * 1024 * 1024)'`);
      expect(tooBig.oomKilled).toBe(true);
    } finally {
      await sandbox.destroy();
    }
  });

  it('refuses a state directory another user could have planted (adversarial: a symlink)', async () => {
    const planted = mkdtempSync(join(tmpdir(), 'airlock-planted-'));
    try {
      const elsewhere = join(planted, 'attacker-chosen');
      mkdirSync(elsewhere);
      const link = join(planted, 'state');
      symlinkSync(elsewhere, link);
      const driver = driverFor({ stateDir: link, prespawnLauncher: false });
      await expectAirlockError(driver.create(baseSpec), 'SANDBOX_UNAVAILABLE');
      expect(readdirSafe(elsewhere)).toEqual([]);
    } finally {
      rmSync(planted, { recursive: true, force: true });
    }
  });

  it("runs a rootfs directory image: its own files only, read-only, with Airlock's mounts on top", async () => {
    const image = mkdtempSync(join(tmpdir(), 'airlock-rootfs-'));
    try {
      buildMinimalRootfs(image, ['/usr/bin/bash', '/usr/bin/cat', '/usr/bin/ls']);
      const driver = driverFor({ prespawnLauncher: false });
      if (process.getuid?.() === 0) {
        // mkdtemp makes 0700 directories: the session's host uid could not reach them.
        await expectAirlockError(driver.create({ ...baseSpec, image }), 'INVALID_ARGUMENT');
        chmodSync(image, 0o755);
      }
      const sandbox = await driver.create({ ...baseSpec, image });
      try {
        const result = await sandbox.exec(
          'cat /etc/os-release; ls /usr/bin; while IFS=: read -r name rest; do [ "$name" = agent ] && echo "$name"; done < /etc/passwd; echo made > /workspace/x && cat /workspace/x; (echo no > /usr/x) 2>/dev/null || echo read-only',
        );
        expect(result.stderr).toBe('');
        expect(result.stdout).toBe('ID=airlock-test-image\nbash\ncat\nls\nagent\nmade\nread-only\n');
      } finally {
        await sandbox.destroy();
      }
    } finally {
      rmSync(image, { recursive: true, force: true });
    }
  });

  it('ends a sandbox whose supervisor breaks the protocol, and nothing else (adversarial)', async () => {
    // The helper for this driver is a script: the real one on the host, and inside the sandbox a
    // "supervisor" that says ready, then answers the first command with the empty exit report that
    // once crashed the control plane.
    const dir = mkdtempSync(join(tmpdir(), 'airlock-hostile-helper-'));
    try {
      const script = join(dir, 'helper');
      writeFileSync(
        script,
        '#!/bin/sh\n' +
          'if [ "$1" = supervise ]; then\n' +
          // READY: length 17, type 64, id 0, version 3, Landlock ABI 0, flags 1 (pid 1).
          "  printf '\\021\\000\\000\\000\\100\\000\\000\\000\\000\\003\\000\\000\\000\\000\\000\\000\\000\\001\\000\\000\\000'\n" +
          '  head -c 9 > /dev/null\n' +
          "  printf '\\005\\000\\000\\000\\104\\001\\000\\000\\000'\n" +
          '  exec sleep 60\n' +
          'fi\n' +
          `exec ${defaultHelperPath} "$@"\n`,
        { mode: 0o755 },
      );
      chmodSync(dir, 0o755);
      const bystander = await driverFor().create(baseSpec);
      try {
        const hostile = await driverFor({ helperPath: script, prespawnLauncher: false }).create(baseSpec);
        const outcome = await hostile.exec('true').then(
          () => 'believed',
          (error: unknown) => error,
        );
        expect(outcome).toMatchObject({ code: 'SANDBOX_LOST', details: { reason: 'protocol_violation' } });
        expect(await hostile.ended).toMatchObject({ cause: 'protocol_violation' });
        await expectAirlockError(hostile.exec('true'), 'SANDBOX_DESTROYED');
        // Its teardown is under way already; this waits for it to finish.
        await hostile.destroy();
        expect((await bystander.exec('echo unaffected')).stdout).toBe('unaffected\n');
      } finally {
        await bystander.destroy();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start without bwrap, naming the fix', async () => {
    const driver = driverFor({ bwrapPath: '/nonexistent/bwrap' });
    await expectAirlockError(driver.create(baseSpec), 'SANDBOX_UNAVAILABLE');
  });

  it('refuses to start without the helper, naming the fix', async () => {
    const driver = driverFor({ helperPath: '/nonexistent/airlock-helper' });
    await expectAirlockError(driver.create(baseSpec), 'SANDBOX_UNAVAILABLE');
  });

  it('refuses to run when the kernel rejects a cgroup limit, instead of running unlimited', async () => {
    // pids.max above the kernel's PID_MAX_LIMIT is refused with EINVAL by the kernel itself.
    const driver = driverFor({ prespawnLauncher: false });
    const before = readdirSafe(join(stateDir, 'sandboxes'));
    await expectAirlockError(driver.create({ ...baseSpec, pids: 1_000_000_000 }), 'CGROUP_UNAVAILABLE');
    expect(readdirSafe(join(stateDir, 'sandboxes'))).toEqual(before);
    const escaping = driverFor({ cgroupParent: '../escape' });
    await expectAirlockError(escaping.create(baseSpec), 'INVALID_ARGUMENT');
  });

  it('rejects invalid limits before starting anything', async () => {
    const driver = driverFor();
    await expectAirlockError(driver.create({ ...baseSpec, memoryBytes: -1 }), 'INVALID_ARGUMENT');
    await expectAirlockError(driver.create({ ...baseSpec, cpus: 0 }), 'INVALID_ARGUMENT');
    await expectAirlockError(driver.create({ ...baseSpec, env: { 'BAD=NAME': 'x' } }), 'INVALID_ARGUMENT');
  });

  it('reports an exhausted process limit as LIMIT_REACHED and still serves file copies', async () => {
    const driver = driverFor();
    const sandbox = await driver.create({ ...baseSpec, pids: 24 });
    try {
      // perl forks until the kernel refuses, then exits: its children fill the pids limit.
      const filler = await sandbox.exec(
        `perl -e 'for (1..100) { my $p = fork; last unless defined $p; if (!$p) { sleep 300; exit } }'`,
      );
      expect(filler.exitCode).toBe(0);
      await expectAirlockError(sandbox.exec('echo hi'), 'LIMIT_REACHED');
      await sandbox.writeFile('still.txt', 'served');
      expect((await sandbox.readFile('still.txt')).toString()).toBe('served');
    } finally {
      await sandbox.destroy();
    }
  });
});
