/**
 * Containment tests every driver must pass: each runs a real attack inside a real sandbox and checks
 * the host-visible outcome. Drivers call `defineContainmentSuite` from their own test file; a driver
 * missing on the machine is skipped with the reason, never reported as passed. It runs the driver
 * conformance suite (the interface's contract, which the in-memory test double passes too) first.
 */
import { randomInt } from 'node:crypto';
import { readdirSync, readlinkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it as vitestIt } from 'vitest';
import { isAirlockError } from '../../src/errors/index.ts';
import { DEFAULT_UID_RANGE } from '../../src/sandbox/index.ts';
import type { Driver, Sandbox, SandboxSpec } from '../../src/sandbox/index.ts';
import { syscallNumbers } from '../../src/sandbox/seccomp/syscalls.ts';
import type { SyscallName } from '../../src/sandbox/seccomp/syscalls.ts';
import { conformanceSpec, defineDriverConformance } from '../conformance/driver-conformance.ts';
import { definePtySuite } from './pty-suite.ts';
import { REPORT_PATH, SCRIPT_PATH, channelAttackScript } from './channel-attacks.ts';
import type { ChannelAttackReport } from './channel-attacks.ts';
import { exhaustScript, hostUidOf, probeOnHost, probeScript } from './per-user-limits.ts';
import { defineForkBombTests } from './fork-bomb.ts';
import { defineKernelSurfaceTests } from './kernel-surface.ts';

export const MiB = 1024 * 1024;

/** The conformance suite's spec: the containment tests run in a sandbox made the same way. */
export const baseSpec: SandboxSpec = conformanceSpec;

export interface ContainmentTarget {
  name: string;
  /** A reason to skip, or undefined when the driver can run here. */
  unavailable: string | undefined;
  makeDriver(): Driver;
  /** The host state directory the driver is given: the sandbox must not learn where it is. */
  stateDir: string;
  /**
   * Suite tests this driver cannot pass because its runtime lacks the checked feature, by exact
   * title, each with the reason. They are reported as skipped with that reason, never as passed;
   * the assertions themselves stay the same for every driver.
   */
  knownGaps?: Readonly<Record<string, string>>;
}

/**
 * A sleep duration no other test uses at the same time: the driver suites run in parallel workers,
 * and a fixed marker would let one driver's leftovers (or live processes) fail another's check.
 */
export function uniqueSeconds(): number {
  return 10_000 + randomInt(80_000);
}

/** Every process on the host whose command line contains `marker` (the host's own /proc). */
export function hostProcessesMatching(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSafe('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(marker)) found.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

export function readdirSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

export async function expectAirlockError(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isAirlockError(error), `expected AirlockError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

export async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return check();
}

const hostArch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';

export function defineContainmentSuite(target: ContainmentTarget): void {
  defineDriverConformance(target);
  definePtySuite({ ...target, spec: baseSpec });
  const gaps = new Map(Object.entries(target.knownGaps ?? {}));
  const titles = new Set<string>();
  // Shadows vitest's `it` for the tests below: a declared gap becomes a skip that names its reason.
  const it = (title: string, body: () => Promise<void>, timeoutMs?: number): void => {
    titles.add(title);
    const gap = gaps.get(title);
    if (gap === undefined) vitestIt(title, body, timeoutMs);
    else vitestIt.skip(`${title} (skipped on ${target.name}: ${gap})`, body);
  };
  // CI names the drivers that must run (`.ci/run`); there an unavailable one is a failure, not a skip.
  const required = (process.env['AIRLOCK_REQUIRE_DRIVERS'] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const isRequired = required.some((name) => target.name === name || target.name.startsWith(`${name} `));
  if (isRequired && target.unavailable !== undefined) {
    const reason = target.unavailable;
    vitestIt(`containment: ${target.name} is available (AIRLOCK_REQUIRE_DRIVERS)`, () => {
      throw new Error(`the ${target.name} driver must run here but is unavailable: ${reason}`);
    });
  }
  describe.skipIf(target.unavailable !== undefined)(
    `containment: ${target.name}${target.unavailable ? ` (skipped: ${target.unavailable})` : ''}`,
    () => {
      let driver: Driver;
      let sandbox: Sandbox;
      const hostSecretFile = `/tmp/airlock-host-secret-${process.pid}`;
      const rootSecretFile = `/root/.airlock-host-secret-${process.pid}`;

      beforeAll(async () => {
        writeFileSync(hostSecretFile, 'host secret in /tmp\n');
        try {
          writeFileSync(rootSecretFile, 'host secret in /root\n');
        } catch {
          // not root: /root is not ours to write; the sandbox must still not see it
        }
        process.env.AIRLOCK_TEST_HOST_SECRET = 'leaked-host-environment';
        driver = target.makeDriver();
        sandbox = await driver.create(baseSpec);
      });

      afterAll(async () => {
        await sandbox?.destroy();
        await driver?.close();
        rmSync(hostSecretFile, { force: true });
        rmSync(rootSecretFile, { force: true });
        delete process.env.AIRLOCK_TEST_HOST_SECRET;
      });

      describe('filesystem', () => {
        it('shows none of the host-private directories', async () => {
          const result = await sandbox.exec(
            'for d in /home /root /var /run /srv /mnt /opt /boot /media; do [ -e "$d" ] && echo "present $d"; done; ls /',
          );
          expect(result.stdout).not.toMatch(/present/);
          const topLevel = result.stdout.trim().split('\n').sort();
          expect(topLevel).toEqual(expect.arrayContaining(['dev', 'etc', 'proc', 'tmp', 'usr', 'workspace']));
          for (const hidden of ['home', 'root', 'var', 'run', 'srv', 'mnt', 'opt'])
            expect(topLevel).not.toContain(hidden);
        });

        it('cannot read a secret planted in the host /tmp or /root', async () => {
          const result = await sandbox.exec(
            `cat ${hostSecretFile}; echo "tmp=$?"; cat ${rootSecretFile}; echo "root=$?"; ls -A /tmp`,
          );
          expect(result.stdout).not.toContain('host secret');
          expect(result.stdout).toMatch(/^tmp=1$/m);
          expect(result.stdout).toMatch(/^root=1$/m);
        });

        it('exposes no docker socket, no shadow file, no ssh keys, and only generated accounts', async () => {
          const result = await sandbox.exec(
            'ls -la /var/run/docker.sock /run/docker.sock /etc/shadow /etc/gshadow /etc/ssh /etc/sudoers 2>&1; cat /etc/passwd',
          );
          expect(result.stdout).toMatch(/No such file/);
          expect(result.stdout).not.toMatch(/^[-ls]r/m);
          const users = result.stdout
            .split('\n')
            .filter((line) => /^[a-z_][^:]*:x:/.test(line))
            .map((line) => line.split(':')[0]);
          expect(users.sort()).toEqual(['agent', 'nobody', 'root']);
        });

        it('keeps the root, system directories and /etc read-only', async () => {
          const result = await sandbox.exec(
            'for p in /evil /usr/evil /usr/bin/evil /etc/evil /etc/passwd /proc/sys/kernel/hostname /dev/evil; do ' +
              '(echo x > "$p") 2>/dev/null && echo "wrote $p"; done; mkdir /newdir 2>/dev/null && echo "made dir"; true',
          );
          expect(result.stdout).toBe('');
        });

        it('mounts a fresh /proc that shows only sandbox processes', async () => {
          const result = await sandbox.exec('ls -d /proc/[0-9]* | wc -l; cat /proc/1/cmdline | tr "\\0" " "');
          const [count] = result.stdout.trim().split('\n');
          expect(Number(count)).toBeLessThan(10);
          expect(result.stdout).not.toContain('systemd');
          expect(result.stdout).not.toContain('init');
        });

        it('has a minimal /dev without disks or kernel interfaces', async () => {
          const result = await sandbox.exec(
            'ls /dev; for d in /dev/sda /dev/vda /dev/nvme0 /dev/mem /dev/kmem /dev/kmsg /dev/port /dev/fuse; do [ -e $d ] && echo "present $d"; done; true',
          );
          expect(result.stdout).not.toMatch(/present/);
          expect(result.stdout).toMatch(/null/);
        });

        it('gives writable /tmp and /workspace, each capped at the scratch size', async () => {
          const overMiB = baseSpec.scratchBytes / MiB + 8;
          const result = await sandbox.exec(
            `cd /workspace && echo hi > a && cat a && dd if=/dev/zero of=/workspace/big bs=1M count=${overMiB} 2>&1; ` +
              `dd if=/dev/zero of=/tmp/big bs=1M count=${overMiB} 2>&1; ls -l /workspace/big /tmp/big; rm -f /workspace/big /tmp/big`,
          );
          expect(result.stdout).toMatch(/^hi$/m);
          expect(result.stdout.match(/No space left on device/g)?.length).toBe(2);
          const sizes = [...result.stdout.matchAll(/ (\d+) \w+ +\d+ [\d:]+ \/(?:workspace|tmp)\/big/g)].map(
            (m) => Number(m[1]),
          );
          for (const size of sizes) expect(size).toBeLessThanOrEqual(baseSpec.scratchBytes);
        });

        it('links and moves a file into another directory (a Landlock domain refuses neither)', async () => {
          // Landlock (ABI 2 on) refuses both with EXDEV unless its ruleset grants it: `ln` fails and `mv`
          // copies whole trees byte by byte.
          const result = await sandbox.exec(
            'cd /workspace && mkdir -p from into && echo x > from/f && ln from/f into/linked && ' +
              'mv from into/moved && stat -c %h into/linked && cat into/moved/f && rm -rf from into',
          );
          expect(result.stderr).toBe('');
          expect(result.stdout).toBe('2\nx\n');
        });

        it('still runs everyday tools: awk via alternatives, python with its site config, perl, name lookups', async () => {
          const result = await sandbox.exec(
            'awk \'BEGIN { print "awk ok" }\'; ' +
              "python3 -c \"import ssl, mimetypes, json; print('python ok', mimetypes.guess_type('a.json')[0])\"; " +
              'perl -e \'print "perl ok\\n"\'; getent hosts airlock | cut -c1-9; id -un; date +%Z > /dev/null && echo tz ok',
          );
          expect(result.stderr).toBe('');
          expect(result.stdout).toBe(
            'awk ok\npython ok application/json\nperl ok\n127.0.0.1\nagent\ntz ok\n',
          );
        });
      });

      describe('namespaces and identity', () => {
        it('has its own namespaces of every kind', async () => {
          const kinds = ['mnt', 'pid', 'net', 'ipc', 'uts', 'user', 'cgroup'];
          const result = await sandbox.exec(kinds.map((kind) => `readlink /proc/self/ns/${kind}`).join('; '));
          const inside = result.stdout.trim().split('\n');
          expect(inside).toHaveLength(kinds.length);
          kinds.forEach((kind, index) =>
            expect(inside[index], kind).not.toBe(readlinkSync(`/proc/self/ns/${kind}`)),
          );
        });

        it('has a hostname that is not the host one', async () => {
          const result = await sandbox.exec('hostname; cat /proc/sys/kernel/hostname');
          expect(result.stdout).not.toContain(hostname());
          expect(result.stdout.trim().split('\n')[0]).toBe('airlock');
        });

        it('runs as an unprivileged user with no capabilities, no_new_privs and a seccomp filter', async () => {
          const result = await sandbox.exec(
            'id -u; grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status',
          );
          expect(result.stdout).not.toMatch(/^0$/m);
          for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) {
            expect(result.stdout).toMatch(new RegExp(`^${cap}:\\s+0{16}$`, 'm'));
          }
          expect(result.stdout).toMatch(/^NoNewPrivs:\s+1$/m);
          expect(result.stdout).toMatch(/^Seccomp:\s+2$/m);
        });

        it('cannot reach a server listening on the host loopback', async () => {
          const server: Server = createServer((socket) => socket.end('host-service\n'));
          await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
          const { port } = server.address() as AddressInfo;
          try {
            const result = await sandbox.exec(
              `cat /proc/net/dev | tail -n +3 | cut -d: -f1; exec 3<>/dev/tcp/127.0.0.1/${port} && cat <&3`,
              { timeoutMs: 5_000 },
            );
            expect(result.stdout).not.toContain('host-service');
            expect(
              result.stdout
                .trim()
                .split('\n')
                .map((line) => line.trim()),
            ).toEqual(['lo']);
            expect(result.exitCode).not.toBe(0);
          } finally {
            server.close();
          }
        });

        it('cannot reach a host abstract unix socket (the X11/D-Bus escape route)', async () => {
          const name = `airlock-test-${process.pid}`;
          const server = createServer((socket) => socket.end('host-abstract\n'));
          await new Promise<void>((resolve) => server.listen(`\0${name}`, resolve));
          try {
            const result = await sandbox.exec(
              `python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.connect('\\0${name}'); print(s.recv(64))"`,
            );
            expect(result.stdout).not.toContain('host-abstract');
            expect(result.stderr).toMatch(/ConnectionRefused|No such file|Errno 111/);
          } finally {
            server.close();
          }
        });

        it('cannot signal host processes', async () => {
          const result = await sandbox.exec(`kill -0 ${process.pid} 2>&1; echo "status=$?"`);
          expect(result.stdout).toMatch(/status=1/);
        });

        it('keeps sessions apart: no shared files, processes or shared memory', async () => {
          const other = await driver.create(baseSpec);
          try {
            await sandbox.exec(
              'echo mine > /workspace/private; echo mine > /tmp/private; echo mine > /dev/shm/private; sleep $((3000+303)) > /dev/null 2>&1 &',
            );
            const view = await other.exec(
              'cat /workspace/private /tmp/private /dev/shm/private 2>&1; cat /proc/[0-9]*/cmdline | tr "\\0" " "',
            );
            expect(view.stdout).not.toMatch(/^mine$/m);
            expect(view.stdout).not.toContain('sleep 3303');
          } finally {
            await other.destroy();
            await sandbox.exec(
              'pkill -f "sleep 3303"; rm -f /workspace/private /tmp/private /dev/shm/private',
            );
          }
        });

        it('sees only the granted environment, never the host one', async () => {
          const result = await sandbox.exec('env', { env: { PER_CALL: '1' } });
          const names = result.stdout
            .trim()
            .split('\n')
            .map((line) => line.split('=')[0])
            .sort();
          expect(result.stdout).not.toContain('leaked-host-environment');
          expect(names.filter((name) => !['PWD', 'SHLVL', '_'].includes(name ?? ''))).toEqual(
            ['GRANTED', 'HOME', 'LANG', 'PATH', 'PER_CALL'].sort(),
          );
        });
      });

      describe('seccomp', () => {
        const refused: SyscallName[] = [
          'mount',
          'umount2',
          'ptrace',
          'unshare',
          'setns',
          'bpf',
          'perf_event_open',
          'keyctl',
          'add_key',
          'request_key',
          'init_module',
          'finit_module',
          'delete_module',
          'kexec_load',
          'reboot',
          'swapon',
          'swapoff',
          'io_uring_setup',
          'userfaultfd',
          'open_by_handle_at',
          'clock_settime',
          'settimeofday',
        ];

        it('refuses each dangerous syscall with EPERM when a program calls it directly', async () => {
          expect(refused.length).toBeGreaterThan(0);
          const table = syscallNumbers[hostArch];
          const probes = refused.map((name) => {
            const number = table[name];
            expect(number, name).toBeTypeOf('number');
            // perl's syscall() issues the raw syscall: no libc wrapper can hide a refusal.
            return `perl -e '$r = syscall(${number}, 0, 0, 0, 0, 0); print "${name} ", ($r == -1 ? $!+0 : "ran"), "\\n"'`;
          });
          const result = await sandbox.exec(probes.join('; '));
          const lines = result.stdout.trim().split('\n');
          expect(lines).toHaveLength(refused.length);
          for (const line of lines) expect(line).toMatch(/ 1$/); // errno 1 = EPERM
        });

        it('stops the classic escape tools', async () => {
          const result = await sandbox.exec(
            'unshare -U true 2>&1; echo "unshare=$?"; unshare -m true 2>&1; echo "unshare-m=$?"; ' +
              'mount -t tmpfs none /tmp 2>&1; echo "mount=$?"',
          );
          expect(result.stdout).toMatch(/unshare=[1-9]/);
          expect(result.stdout).toMatch(/unshare-m=[1-9]/);
          expect(result.stdout).toMatch(/mount=[1-9]/);
        });
      });

      describe('host uids and per-user limits', () => {
        it('runs each session as a host uid of its own, from the range', async () => {
          const other = await driver.create(baseSpec);
          try {
            const ours = sandbox.info?.processes?.hostUid;
            const theirs = other.info?.processes?.hostUid;
            for (const uid of [ours, theirs]) {
              expect(uid).toBeTypeOf('number');
              expect(uid).toBeGreaterThanOrEqual(DEFAULT_UID_RANGE.first);
              expect(uid).toBeLessThanOrEqual(DEFAULT_UID_RANGE.last);
            }
            expect(ours).not.toBe(theirs);
            const seconds = uniqueSeconds();
            await other.exec(`sleep $((${seconds - 1}+1)) > /dev/null 2>&1 &`);
            expect(await waitFor(() => hostProcessesMatching(`sleep ${seconds}`).length === 1, 2_000)).toBe(
              true,
            );
            expect(hostProcessesMatching(`sleep ${seconds}`).map(hostUidOf)).toEqual([theirs]);
          } finally {
            await other.destroy();
          }
        });

        it('keeps per-user limits per session: one that takes every inotify instance and process it may have leaves another session and the host unaffected (adversarial)', async () => {
          // 48 processes, as in the fork bomb test: under gVisor more would end the whole sandbox.
          const greedy = await driver.create({ ...baseSpec, pids: 48 });
          const other = await driver.create({ ...baseSpec, pids: 48 });
          try {
            const report = '/tmp/exhausted.json';
            await greedy.writeFile('/tmp/exhaust.py', exhaustScript(report));
            await greedy.exec('python3 /tmp/exhaust.py > /dev/null 2>&1 &');
            let taken: Record<string, number> | undefined;
            // Read by a file copy: with every process it may have in use, the session runs no command.
            for (let tries = 0; tries < 200 && taken === undefined; tries += 1) {
              const written = await greedy.readFile(report).catch(() => Buffer.alloc(0));
              try {
                taken = JSON.parse(written.toString()) as Record<string, number>;
              } catch {
                await new Promise((resolve) => setTimeout(resolve, 50)); // not written (whole) yet
              }
            }
            // It really ran out: EMFILE for inotify, EAGAIN for fork.
            expect(taken).toMatchObject({ inotifyErrno: 24, forkErrno: 11 });
            expect(taken?.['inotify']).toBeGreaterThan(0);
            expect(taken?.['children']).toBeGreaterThan(0);

            await other.writeFile('/tmp/probe.py', probeScript);
            const probe = await other.exec('python3 /tmp/probe.py 20');
            expect(probe.stdout).toBe('inotify ok\nforked 20\n');
            // The uids sessions used to share: nobody (bwrap) and 1000 (Docker's agent).
            if (process.getuid?.() === 0) {
              for (const uid of [65534, 1000])
                expect(probeOnHost(uid, 10), `host uid ${uid}`).toBe('inotify ok\nforked 10\n');
            }
          } finally {
            await greedy.destroy();
            await other.destroy();
          }
        }, 60_000);
      });

      defineKernelSurfaceTests(it, () => sandbox, { stateDir: target.stateDir });
      defineForkBombTests(it, () => driver, baseSpec);

      describe('resource limits', () => {
        it('reports an OOM kill as such and keeps the session usable', async () => {
          const small = await driver.create({ ...baseSpec, memoryBytes: 64 * MiB });
          try {
            const result = await small.exec(`perl -e '$x = "a" x (400 * 1024 * 1024); print "survived\\n"'`);
            expect(result.stdout).not.toContain('survived');
            expect(result.oomKilled).toBe(true);
            const after = await small.exec('echo still here');
            expect(after.stdout).toBe('still here\n');
            expect((await small.stats()).oomKills).toBeGreaterThan(0);
          } finally {
            await small.destroy();
          }
        });

        it('contains a fork bomb within the pids limit, then kills it on timeout', async () => {
          const bombed = await driver.create({ ...baseSpec, pids: 48 });
          try {
            const result = await bombed.exec('bomb() { bomb | bomb & }; bomb; sleep 30', {
              timeoutMs: 1_500,
            });
            expect(result.timedOut).toBe(true);
            const stats = await bombed.stats();
            expect(stats.pids).toBeLessThanOrEqual(48);
            const after = await bombed.exec('echo alive');
            expect(after.stdout).toBe('alive\n');
          } finally {
            await bombed.destroy();
          }
          // Docker with runsc: destroying the container after a fork bomb sometimes takes about 30 s
          // under load (the kill or remove in dockerd; not yet explained), so the test allows for it.
        }, 90_000);

        it('holds CPU use to the quota', async () => {
          const throttled = await driver.create({ ...baseSpec, cpus: 0.25 });
          try {
            const before = (await throttled.stats()).cpuUsageMs;
            const result = await throttled.exec(
              'timeout 1 sh -c "while :; do :; done" & timeout 1 sh -c "while :; do :; done"; wait',
            );
            expect(result.durationMs).toBeGreaterThan(900);
            const usedMs = (await throttled.stats()).cpuUsageMs - before;
            // Two busy loops for one second would use ~2000 ms unthrottled; the quota allows ~250 ms.
            expect(usedMs).toBeLessThan(600);
          } finally {
            await throttled.destroy();
          }
        });
      });

      describe('processes', () => {
        it('keeps a background process of one command running for the next', async () => {
          const marker = 'sleep 4321';
          await sandbox.exec('sleep $((4000 + 321)) > /dev/null 2>&1 &');
          await new Promise((resolve) => setTimeout(resolve, 100));
          const result = await sandbox.exec('cat /proc/[0-9]*/cmdline | tr "\\0" " "');
          expect(result.stdout).toContain(marker);
          await sandbox.exec(`pkill -f "${marker}"`);
        });

        it('kills the whole tree on timeout, including setsid and nohup children, and stays usable', async () => {
          const base = uniqueSeconds();
          const result = await sandbox.exec(
            `setsid sleep $((${base}+1)) > /dev/null 2>&1 & nohup sleep $((${base}+2)) > /dev/null 2>&1 & ` +
              `(setsid sh -c "sleep $((${base}+3))" &) ; sleep $((${base}+4))`,
            { timeoutMs: 500 },
          );
          expect(result.timedOut).toBe(true);
          expect(result.durationMs).toBeLessThan(3_000);
          const after = await sandbox.exec('cat /proc/[0-9]*/cmdline | tr "\\0" " "');
          for (const offset of [1, 2, 3, 4]) {
            expect(after.stdout).not.toContain(`sleep ${base + offset}`);
            expect(hostProcessesMatching(`sleep ${base + offset}`)).toEqual([]);
          }
        });

        it('kills the orphans of a command that killed its own keeper, where it may kill it', async () => {
          const result = await sandbox.exec(
            '(setsid sleep $((6660+1)) > /dev/null 2>&1 &); kill -9 $PPID || echo "keeper protected"; sleep $((6660+2))',
            { timeoutMs: 3_000 },
          );
          if (sandbox.info?.processes?.separateUid) {
            // Commands run as another uid than their keeper: the kill is refused, and the timeout
            // then ends the command's whole tree as usual.
            expect(result.stdout).toContain('keeper protected');
            expect(result.timedOut).toBe(true);
          } else {
            expect(result.durationMs).toBeLessThan(2_500);
            expect(result.killed).toBe(true);
          }
          const after = await sandbox.exec('cat /proc/[0-9]*/cmdline | tr "\\0" " "');
          expect(after.stdout).not.toContain('sleep 666');
        });

        it("cannot open its keeper's or the supervisor's memory, nor the host channel (adversarial)", async () => {
          // The keeper shares the supervisor's memory: reaching into either would mean controlling the
          // process that holds the host channel (fds 0 and 1) and enforces every timeout.
          const keeper = '$PPID';
          const supervisor = '$(cut -d" " -f4 /proc/$PPID/stat)';
          const probes = [
            ...[keeper, supervisor].flatMap((pid) => [
              `(exec 3</proc/${pid}/mem) 2>/dev/null && echo "read mem of ${pid}"`,
              `(exec 3>/proc/${pid}/mem) 2>/dev/null && echo "write mem of ${pid}"`,
            ]),
            `(exec 3</proc/${supervisor}/fd/0) 2>/dev/null && echo "opened the request channel"`,
            `(exec 3>/proc/${supervisor}/fd/1) 2>/dev/null && echo "opened the reply channel"`,
          ];
          expect(probes.length).toBeGreaterThan(0);
          const result = await sandbox.exec(`${probes.join('; ')}; echo probed`);
          expect(result.stdout).toBe('probed\n');
        });

        it('gives a command no file descriptors but its own stdin, stdout and stderr', async () => {
          // Another command is running meanwhile: its pipes must not leak into this one.
          const running = sandbox.exec('sleep 1');
          // ls's own handle on the listed directory is the one entry pointing into /proc.
          const result = await sandbox.exec(
            "ls -l /proc/self/fd | awk '/->/ && !/-> \\/proc\\// { print $9 }'",
          );
          await running;
          expect(result.stdout.trim().split('\n').sort()).toEqual(['0', '1', '2']);
        });

        it('cannot signal the supervisor, which holds the channel (adversarial)', async () => {
          const victim = await driver.create(baseSpec);
          try {
            const result = await victim.exec(
              'for s in KILL STOP TERM INT HUP; do kill -$s 1 2>/dev/null; done; echo sent',
            );
            expect(result.stdout).toBe('sent\n');
            expect((await victim.exec('echo alive')).stdout).toBe('alive\n');
            expect(victim.info?.processes?.supervisorIsPid1).toBe(true);
          } finally {
            await victim.destroy();
          }
        });

        it('leaves nothing on the host after destroy', async () => {
          const doomed = await driver.create(baseSpec);
          const seconds = uniqueSeconds();
          await doomed.exec(`sleep $((${seconds - 1}+1)) > /dev/null 2>&1 &`);
          const marker = `sleep ${seconds}`;
          expect(await waitFor(() => hostProcessesMatching(marker).length === 1, 2_000)).toBe(true);
          await doomed.destroy();
          expect(await waitFor(() => hostProcessesMatching(marker).length === 0, 2_000)).toBe(true);
          await expectAirlockError(doomed.exec('true'), 'SANDBOX_DESTROYED');
        });
      });

      describe('the channel to the control plane', () => {
        /** Runs one attack in a sandbox of its own; the suite's shared sandbox stands for the other sessions. */
        async function attack(mode: 'inject' | 'frames' | 'status'): Promise<ChannelAttackReport> {
          const victim = await driver.create(baseSpec);
          try {
            await victim.writeFile(SCRIPT_PATH, channelAttackScript);
            // The command ends with 0 a moment after its forgeries: a forged report saying 42 would
            // have to win that race to be believed.
            const result = await victim.exec(`python3 ${SCRIPT_PATH} ${mode}; sleep 0.3; exit 0`);
            // Its own stdout and stderr may hold what it forged (where it could reopen its own pipes):
            // that is output, not a result. The result is the exit status it really had.
            expect(result.stderr).not.toMatch(/Traceback/);
            expect(result.exitCode).toBe(0);
            const report = JSON.parse((await victim.readFile(REPORT_PATH)).toString()) as ChannelAttackReport;
            expect(report.targets).toContain(1);
            // The session, another session and the control plane (this process) all go on.
            expect((await victim.exec('echo alive; exit 3')).stdout).toBe('alive\n');
            expect((await sandbox.exec('echo unaffected')).stdout).toBe('unaffected\n');
            return report;
          } finally {
            await victim.destroy();
          }
        }

        it('reports what keeps commands from the supervisor', async () => {
          const processes = sandbox.info?.processes;
          expect(processes?.supervisorIsPid1).toBe(true);
          // Beyond pid 1 and a supervisor that is not dumpable: another uid, or Landlock, or both.
          expect(processes?.separateUid || (processes?.landlockAbi ?? 0) > 0).toBe(true);
        });

        it("cannot write code into pid 1's memory, the bwrap reaper exploit (adversarial)", async () => {
          const report = await attack('inject');
          expect(report.injected).toEqual([]);
          expect(report.opened).toEqual([]);
          expect(report.refused).toBe(report.targets.length);
        });

        it('cannot forge frames on the channel through any fd of the supervisor or a keeper (adversarial)', async () => {
          const report = await attack('frames');
          expect(report.refused).toBeGreaterThan(0);
          // Where anything opens at all (gVisor lists fds to their own uid), it is a command's own
          // stdout or stdin, which its own processes hold anyway: never the channel or a status pipe.
          for (const opened of report.opened)
            expect(report.stdio, JSON.stringify(opened)).toContain(opened.link);
        });

        it('cannot forge its exit status through the pipes of the supervisor or a keeper, the gVisor forgery (adversarial)', async () => {
          const report = await attack('status');
          expect(report.refused).toBeGreaterThan(0);
          for (const opened of report.opened)
            expect(report.stdio, JSON.stringify(opened)).toContain(opened.link);
        });
      });

      describe('output', () => {
        it('keeps memory bounded on a flood of output and reports how much was produced', async () => {
          const result = await sandbox.exec('head -c 40000000 /dev/zero | tr "\\0" x');
          expect(result.stdoutStream.totalBytes).toBe(40_000_000);
          expect(result.truncated).toBe(true);
          expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(1024 * 1024);
          expect(result.stdoutStream.storedBytes).toBeLessThanOrEqual(16 * MiB);
          expect(result.stdoutStream.read(5_000_000, 10).toString()).toBe('xxxxxxxxxx');
        });
      });

      describe('files', () => {
        it('does not follow a symlink the agent planted', async () => {
          await sandbox.exec(
            'ln -sf /etc/passwd /workspace/link; ln -sfn /etc /workspace/etcdir; echo original > /workspace/target; ln -sf /workspace/target /workspace/wlink',
          );
          await expectAirlockError(sandbox.readFile('link'), 'PATH_OUTSIDE_SANDBOX');
          await expectAirlockError(sandbox.readFile('etcdir/passwd'), 'PATH_OUTSIDE_SANDBOX');
          await expectAirlockError(sandbox.writeFile('wlink', 'overwritten'), 'PATH_OUTSIDE_SANDBOX');
          expect((await sandbox.readFile('target')).toString()).toBe('original\n');
        });

        it('does not hang on a FIFO the agent planted', async () => {
          await sandbox.exec('mkfifo /workspace/trap');
          await expectAirlockError(sandbox.readFile('trap'), 'INVALID_ARGUMENT');
          const result = await sandbox.exec('echo responsive');
          expect(result.stdout).toBe('responsive\n');
        });

        it('refuses to list a directory the agent flooded with entries', async () => {
          await sandbox.exec('mkdir /tmp/flood && cd /tmp/flood && seq 10050 | xargs touch');
          await expectAirlockError(sandbox.listFiles('/tmp/flood'), 'LIMIT_REACHED');
          await sandbox.exec('rm -rf /tmp/flood');
        });
      });

      vitestIt('declares only known gaps that name a test of this suite', () => {
        for (const title of gaps.keys()) expect(titles, `unknown gap: ${title}`).toContain(title);
      });
    },
  );
}
