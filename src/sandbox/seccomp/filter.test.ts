import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSeccompProgram } from '../../../test/support/bpf-interpreter.ts';
import { isAirlockError } from '../../errors/index.ts';
import { buildSeccompFilter, hostSeccompArch } from './index.ts';
import type { SeccompArch } from './index.ts';
import { syscallNumbers } from './syscalls.ts';
import type { SyscallName } from './syscalls.ts';

// Expected values are spelled out here rather than imported, so a wrong constant in filter.ts fails.
const ALLOW = 0x7fff0000;
const KILL_PROCESS = 0x80000000;
const EPERM = 0x00050000 | 1;
const ENOSYS = 0x00050000 | 38;
const EPROTONOSUPPORT = 0x00050000 | 93;
const EAFNOSUPPORT = 0x00050000 | 97;

const AUDIT_ARCH = { x86_64: 0xc000003e, aarch64: 0xc00000b7 } as const;
const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_ARM = 0x40000028;

// Ordinary syscalls the filter does not name, so they are absent from syscalls.ts.
const ORDINARY = {
  x86_64: { read: 0, write: 1, openat: 257, execve: 59 },
  aarch64: { read: 63, write: 64, openat: 56, execve: 221 },
} as const;

const REFUSED: readonly SyscallName[] = [
  'mount',
  'umount2',
  'pivot_root',
  'move_mount',
  'open_tree',
  'open_tree_attr',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'mount_setattr',
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
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
  'kexec_file_load',
  'reboot',
  'swapon',
  'swapoff',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  'userfaultfd',
  'open_by_handle_at',
  'name_to_handle_at',
  'settimeofday',
  'clock_settime',
  'clock_adjtime',
  'adjtimex',
  'acct',
  'quotactl',
  'quotactl_fd',
  'lookup_dcookie',
  'syslog',
  'vhangup',
  'fanotify_init',
  'nfsservctl',
  'uselib',
  'pidfd_getfd',
  'iopl',
  'ioperm',
  'kcmp',
];
const X86_ONLY: readonly SyscallName[] = ['uselib', 'iopl', 'ioperm'];

const FORK_FLAGS = 0x01200011n; // CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD, as glibc fork()
// CLONE_VM | FS | FILES | SIGHAND | THREAD | SYSVSEM | SETTLS | PARENT_SETTID | CHILD_CLEARTID
const THREAD_FLAGS = 0x003d0f00n;
const NAMESPACE_FLAGS = {
  CLONE_NEWTIME: 0x00000080n,
  CLONE_NEWNS: 0x00020000n,
  CLONE_NEWCGROUP: 0x02000000n,
  CLONE_NEWUTS: 0x04000000n,
  CLONE_NEWIPC: 0x08000000n,
  CLONE_NEWUSER: 0x10000000n,
  CLONE_NEWPID: 0x20000000n,
  CLONE_NEWNET: 0x40000000n,
} as const;
const HIGH_WORD_GARBAGE = 0xdead_beef_0000_0000n;

const TIOCSTI = 0x5412n;
const TIOCLINUX = 0x541cn;
const TCGETS = 0x5401n;

// linux/socket.h and linux/netlink.h.
const ALLOWED_FAMILIES = { AF_UNIX: 1n, AF_INET: 2n, AF_INET6: 10n } as const;
const AF_NETLINK = 16n;
const REFUSED_FAMILIES = {
  AF_UNSPEC: 0n,
  AF_AX25: 3n,
  AF_IPX: 4n,
  AF_APPLETALK: 5n,
  AF_X25: 9n,
  AF_KEY: 15n,
  AF_PACKET: 17n,
  AF_RDS: 21n,
  AF_IRDA: 23n,
  AF_LLC: 26n,
  AF_CAN: 29n,
  AF_TIPC: 30n,
  AF_BLUETOOTH: 31n,
  AF_ALG: 38n,
  AF_NFC: 39n,
  AF_VSOCK: 40n,
  AF_KCM: 41n,
  AF_QIPCRTR: 42n,
  AF_XDP: 44n,
  AF_MCTP: 45n,
  AF_MAX: 46n,
} as const;
const NETLINK = { ROUTE: 0n, SOCK_DIAG: 4n, AUDIT: 9n, NETFILTER: 12n, KOBJECT_UEVENT: 15n, GENERIC: 16n };
const SOCK_STREAM = 1n;
const SOCK_DGRAM = 2n;
const SOCK_RAW = 3n;
const SOCK_CLOEXEC = 0x80000n;

const ARCHES: readonly SeccompArch[] = ['x86_64', 'aarch64'];

function nrOf(arch: SeccompArch, name: SyscallName): number {
  const nr = syscallNumbers[arch][name];
  if (nr === undefined) throw new Error(`${name} has no number on ${arch}`);
  return nr;
}

describe.each(ARCHES)('seccomp filter for %s', (arch) => {
  const program = buildSeccompFilter({ arch });
  const run = (nr: number, args: readonly bigint[] = []): number =>
    runSeccompProgram(program, { nr, arch: AUDIT_ARCH[arch], args });
  const call = (name: SyscallName, args: readonly bigint[] = []): number => run(nrOf(arch, name), args);

  it('is a well-formed program the kernel would accept (u8 jumps inside, RET last, <= 4096)', () => {
    expect(program.length % 8).toBe(0);
    expect(program.length / 8).toBeLessThanOrEqual(4096);
    // runSeccompProgram applies the kernel's load-time checks before it runs anything.
    expect(run(0)).toBeTypeOf('number');
  });

  it('is pure: the same options give the same bytes', () => {
    expect(buildSeccompFilter({ arch }).equals(program)).toBe(true);
  });

  it('refuses every dangerous syscall with EPERM', () => {
    const present = REFUSED.filter((name) => syscallNumbers[arch][name] !== undefined);
    expect(present.length).toBeGreaterThan(40);
    for (const name of present) {
      expect(call(name), name).toBe(EPERM);
    }
  });

  it('knows a number for every refused syscall that exists on this ABI', () => {
    const missing = REFUSED.filter((name) => syscallNumbers[arch][name] === undefined);
    expect(missing).toEqual(arch === 'aarch64' ? X86_ONLY : []);
  });

  it('allows ordinary syscalls', () => {
    const cases = Object.entries(ORDINARY[arch]);
    expect(cases.length).toBeGreaterThan(0);
    for (const [name, nr] of cases) {
      expect(run(nr), name).toBe(ALLOW);
    }
  });

  it('allows clone for fork and for threads', () => {
    expect(call('clone', [FORK_FLAGS])).toBe(ALLOW);
    expect(call('clone', [THREAD_FLAGS])).toBe(ALLOW);
  });

  it('refuses clone that creates any namespace', () => {
    const cases = Object.entries(NAMESPACE_FLAGS);
    expect(cases.length).toBe(8);
    for (const [flag, bits] of cases) {
      expect(call('clone', [FORK_FLAGS | bits]), flag).toBe(EPERM);
    }
  });

  it('adversarial: refuses CLONE_NEWUSER hidden among other flags and high-word garbage', () => {
    expect(call('clone', [HIGH_WORD_GARBAGE | THREAD_FLAGS | NAMESPACE_FLAGS.CLONE_NEWUSER])).toBe(EPERM);
  });

  it('reads clone flags from the low word, as the kernel does (lower_32_bits in sys_clone)', () => {
    expect(call('clone', [NAMESPACE_FLAGS.CLONE_NEWUSER << 32n])).toBe(ALLOW);
  });

  it('answers clone3 with ENOSYS so libc falls back to the inspectable clone', () => {
    expect(call('clone3', [0x7ffd_0000_1000n, 88n])).toBe(ENOSYS);
  });

  it('refuses terminal input injection through ioctl and allows other requests', () => {
    expect(call('ioctl', [0n, TIOCSTI])).toBe(EPERM);
    expect(call('ioctl', [0n, TIOCLINUX])).toBe(EPERM);
    expect(call('ioctl', [0n, TCGETS])).toBe(ALLOW);
    // The request is an unsigned int to the kernel: upper bits do not hide TIOCSTI.
    expect(call('ioctl', [0n, HIGH_WORD_GARBAGE | TIOCSTI])).toBe(EPERM);
    // The fd argument is not the request.
    expect(call('ioctl', [TIOCSTI, TCGETS])).toBe(ALLOW);
  });

  it('allows only the default personality and the query', () => {
    expect(call('personality', [0n])).toBe(ALLOW);
    expect(call('personality', [0xffffffffn])).toBe(ALLOW);
    expect(call('personality', [0x0040000n])).toBe(EPERM); // ADDR_NO_RANDOMIZE
    expect(call('personality', [0x0008n])).toBe(EPERM); // PER_LINUX32
  });

  it('opens sockets of the allowed families, whatever their type and protocol', () => {
    const families = Object.entries(ALLOWED_FAMILIES);
    expect(families.length).toBe(3);
    for (const [name, family] of families) {
      for (const type of [SOCK_STREAM, SOCK_DGRAM | SOCK_CLOEXEC, SOCK_RAW]) {
        expect(call('socket', [family, type, 0n]), `${name} type ${type}`).toBe(ALLOW);
      }
      expect(call('socket', [family, SOCK_STREAM, 6n]), name).toBe(ALLOW);
    }
  });

  it('refuses every other address family with EAFNOSUPPORT, AF_VSOCK included', () => {
    const families = Object.entries(REFUSED_FAMILIES);
    expect(families.length).toBeGreaterThan(15);
    for (const [name, family] of families) {
      expect(call('socket', [family, SOCK_STREAM, 0n]), name).toBe(EAFNOSUPPORT);
    }
    // Families the kernel does not know yet are refused too: the list is an allow-list.
    for (const family of [47n, 100n, 0x7fffffffn, 0xffffffffn]) {
      expect(call('socket', [family, SOCK_DGRAM, 0n]), `family ${family}`).toBe(EAFNOSUPPORT);
    }
  });

  it('allows netlink for NETLINK_ROUTE only', () => {
    expect(call('socket', [AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK.ROUTE])).toBe(ALLOW);
    const others = Object.entries(NETLINK).filter(([name]) => name !== 'ROUTE');
    expect(others.length).toBeGreaterThan(0);
    for (const [name, protocol] of others) {
      expect(call('socket', [AF_NETLINK, SOCK_RAW, protocol]), name).toBe(EPROTONOSUPPORT);
    }
  });

  it('adversarial: reads the family from the low word, as the kernel does (int), so high bits hide nothing', () => {
    expect(call('socket', [HIGH_WORD_GARBAGE | REFUSED_FAMILIES.AF_VSOCK, SOCK_STREAM, 0n])).toBe(
      EAFNOSUPPORT,
    );
    expect(call('socket', [HIGH_WORD_GARBAGE | ALLOWED_FAMILIES.AF_INET, SOCK_STREAM, 0n])).toBe(ALLOW);
    expect(call('socket', [AF_NETLINK, SOCK_RAW, HIGH_WORD_GARBAGE | NETLINK.SOCK_DIAG])).toBe(
      EPROTONOSUPPORT,
    );
    // An allowed family in the type or protocol slot does not make a refused family pass.
    expect(call('socket', [REFUSED_FAMILIES.AF_PACKET, ALLOWED_FAMILIES.AF_UNIX, 1n])).toBe(EAFNOSUPPORT);
  });

  it('makes socket pairs of AF_UNIX only', () => {
    expect(call('socketpair', [ALLOWED_FAMILIES.AF_UNIX, SOCK_STREAM, 0n, 0x7ffd_0000_1000n])).toBe(ALLOW);
    for (const family of [ALLOWED_FAMILIES.AF_INET, REFUSED_FAMILIES.AF_TIPC, REFUSED_FAMILIES.AF_VSOCK]) {
      expect(call('socketpair', [family, SOCK_STREAM, 0n, 0n]), `family ${family}`).toBe(EAFNOSUPPORT);
    }
  });

  it('kills a syscall made through a foreign ABI, whatever its number', () => {
    const foreign = [
      arch === 'x86_64' ? AUDIT_ARCH.aarch64 : AUDIT_ARCH.x86_64,
      AUDIT_ARCH_I386,
      AUDIT_ARCH_ARM,
      0,
    ];
    expect(foreign.length).toBeGreaterThan(0);
    for (const foreignArch of foreign) {
      for (const nr of [0, ORDINARY[arch].read, nrOf(arch, 'mount')]) {
        expect(runSeccompProgram(program, { nr, arch: foreignArch }), `arch ${foreignArch} nr ${nr}`).toBe(
          KILL_PROCESS,
        );
      }
    }
  });
});

describe('seccomp filter for x86_64: x32 ABI', () => {
  const program = buildSeccompFilter({ arch: 'x86_64' });
  const run = (nr: number): number => runSeccompProgram(program, { nr, arch: AUDIT_ARCH.x86_64 });

  it('kills x32 syscalls, which share AUDIT_ARCH_X86_64 but not its numbering', () => {
    expect(run(0x40000000 | 0)).toBe(KILL_PROCESS);
    expect(run(0x40000000 | nrOf('x86_64', 'mount'))).toBe(KILL_PROCESS);
    expect(run(0x7fffffff)).toBe(KILL_PROCESS);
  });

  it('lets syscall(-1) through to the kernel, which answers ENOSYS', () => {
    expect(run(-1)).toBe(ALLOW);
  });
});

describe('syscall numbers match the kernel headers on this machine', () => {
  const headers: Record<SeccompArch, string> = {
    x86_64: '/usr/include/x86_64-linux-gnu/asm/unistd_64.h',
    aarch64: '/usr/include/asm-generic/unistd.h',
  };

  function parseHeader(path: string): Map<string, number> {
    const numbers = new Map<string, number>();
    for (const match of readFileSync(path, 'utf8').matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)) {
      const [, name, value] = match;
      if (name !== undefined && value !== undefined) numbers.set(name, Number(value));
    }
    return numbers;
  }

  for (const arch of ARCHES) {
    it.skipIf(!existsSync(headers[arch]))(`${arch} (skipped when ${headers[arch]} is missing)`, () => {
      const fromHeader = parseHeader(headers[arch]);
      const ours = Object.entries(syscallNumbers[arch]);
      expect(ours.length).toBeGreaterThan(40);
      let compared = 0;
      for (const [name, nr] of ours) {
        const expected = fromHeader.get(name);
        // Syscalls newer than the installed headers (open_tree_attr, 6.15) cannot be compared here.
        if (expected === undefined) continue;
        expect(nr, name).toBe(expected);
        compared += 1;
      }
      expect(compared).toBeGreaterThan(40);
    });
  }

  it('has no two names sharing a number on one ABI', () => {
    for (const arch of ARCHES) {
      const numbers = Object.values(syscallNumbers[arch]);
      expect(new Set(numbers).size, arch).toBe(numbers.length);
    }
  });
});

describe('hostSeccompArch', () => {
  it('maps Node architecture names to seccomp ABIs', () => {
    expect(hostSeccompArch('x64')).toBe('x86_64');
    expect(hostSeccompArch('arm64')).toBe('aarch64');
  });

  it('fails closed with SANDBOX_UNAVAILABLE on any other architecture', () => {
    const attempts = ['ia32', 'arm', 'riscv64', 's390x', ''];
    expect(attempts.length).toBeGreaterThan(0);
    for (const arch of attempts) {
      let caught: unknown;
      try {
        hostSeccompArch(arch);
      } catch (error) {
        caught = error;
      }
      expect(isAirlockError(caught) && caught.code, arch).toBe('SANDBOX_UNAVAILABLE');
    }
  });
});

// The real thing: bwrap installs the filter and the kernel enforces it.
const BWRAP = '/usr/bin/bwrap';
const bwrapSkipReason =
  process.platform !== 'linux'
    ? 'not Linux'
    : process.arch !== 'x64' && process.arch !== 'arm64'
      ? `no filter for ${process.arch}`
      : !existsSync(BWRAP)
        ? `${BWRAP} is not installed`
        : null;

interface SandboxRun {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe.skipIf(bwrapSkipReason !== null)(
  `bwrap --seccomp enforces the filter${bwrapSkipReason === null ? '' : ` (skipped: ${bwrapSkipReason})`}`,
  () => {
    let directory = '';
    let filterPath = '';

    beforeAll(() => {
      directory = mkdtempSync(join(tmpdir(), 'airlock-seccomp-'));
      filterPath = join(directory, 'filter.bpf');
      writeFileSync(filterPath, buildSeccompFilter({ arch: hostSeccompArch() }));
    });

    afterAll(() => {
      if (directory !== '') rmSync(directory, { recursive: true, force: true });
    });

    // A fresh fd per run: bwrap reads to EOF, and a shared offset would hand the next run nothing.
    function runInSandbox(command: readonly string[], withFilter = true): Promise<SandboxRun> {
      const filterFd = withFilter ? openSync(filterPath, 'r') : null;
      const args = [
        '--ro-bind',
        '/',
        '/',
        '--dev',
        '/dev',
        '--proc',
        '/proc',
        '--unshare-user',
        '--unshare-pid',
        ...(filterFd === null ? [] : ['--seccomp', '3']),
        '--',
        ...command,
      ];
      return new Promise((resolve, reject) => {
        const child = spawn(BWRAP, args, {
          shell: false,
          cwd: '/',
          env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
          stdio: ['ignore', 'pipe', 'pipe', filterFd ?? 'ignore'],
        });
        // Typed nullable because of the numeric fd in stdio; pipes were requested for both.
        const { stdout: stdoutPipe, stderr: stderrPipe } = child;
        if (stdoutPipe === null || stderrPipe === null) throw new Error('spawn did not create the pipes');
        let stdout = '';
        let stderr = '';
        stdoutPipe.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
        stderrPipe.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        const closeFilter = (): void => {
          if (filterFd !== null) closeSync(filterFd);
        };
        child.on('error', (error) => {
          closeFilter();
          reject(error);
        });
        child.on('close', (exitCode) => {
          closeFilter();
          resolve({ exitCode, stdout, stderr });
        });
      });
    }

    it('refuses a nested user namespace: unshare -U fails with EPERM', async () => {
      const result = await runInSandbox(['unshare', '-U', 'true']);
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain('Operation not permitted');
    });

    it('control: the same unshare succeeds without the filter, so the refusal is the filter', async () => {
      const result = await runInSandbox(['unshare', '-U', 'true'], false);
      expect(result).toMatchObject({ exitCode: 0 });
    });

    it('runs ordinary commands', async () => {
      expect(await runInSandbox(['true'])).toMatchObject({ exitCode: 0 });
      expect(await runInSandbox(['/bin/sh', '-c', 'echo ok'])).toMatchObject({ exitCode: 0, stdout: 'ok\n' });
    });

    it('installs the filter on the sandboxed process (Seccomp: 2 in /proc/self/status)', async () => {
      const result = await runInSandbox(['/bin/sh', '-c', 'grep "^Seccomp:" /proc/self/status']);
      expect(result.stdout).toMatch(/^Seccomp:\s+2$/m);
    });
  },
);
