import { AirlockError } from '../../errors/index.ts';
import { syscallNumbers } from './syscalls.ts';
import type { SeccompArch, SyscallName, SyscallTable } from './syscalls.ts';
import {
  BPF_JMP_JEQ_K,
  BPF_JMP_JGE_K,
  BPF_JMP_JSET_K,
  END,
  assembleBlock,
  encode,
  label,
  loadWord,
  op,
  ret,
} from './bpf.ts';
import type { Step } from './bpf.ts';

export interface SeccompFilterOptions {
  readonly arch: SeccompArch;
}

const SECCOMP_RET_KILL_PROCESS = 0x80000000;
const SECCOMP_RET_ERRNO = 0x00050000;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const EPERM = 1;
const ENOSYS = 38;
const EPROTONOSUPPORT = 93;
const EAFNOSUPPORT = 97;
const REFUSE = SECCOMP_RET_ERRNO | EPERM;

// struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6].
const SECCOMP_DATA_NR = 0;
const SECCOMP_DATA_ARCH = 4;
// Both supported ABIs are little-endian, so an argument's low 32 bits come first.
function argLowWord(index: number): number {
  return 16 + 8 * index;
}

// AUDIT_ARCH_* = EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE (linux/audit.h).
const AUDIT_ARCH: Readonly<Record<SeccompArch, number>> = { x86_64: 0xc000003e, aarch64: 0xc00000b7 };
const X32_SYSCALL_BIT = 0x40000000;
const NO_SYSCALL = 0xffffffff;

const CLONE_NEWTIME = 0x00000080;
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const CLONE_NAMESPACE_FLAGS =
  CLONE_NEWTIME |
  CLONE_NEWNS |
  CLONE_NEWCGROUP |
  CLONE_NEWUTS |
  CLONE_NEWIPC |
  CLONE_NEWUSER |
  CLONE_NEWPID |
  CLONE_NEWNET;

const PER_LINUX = 0;
const PERSONALITY_QUERY = 0xffffffff;
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;

// Address families (linux/socket.h) and the one netlink protocol a sandbox may open.
const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;
const NETLINK_ROUTE = 0;

/**
 * Refused outright with EPERM. Most of these already need a capability the sandbox does not hold;
 * refusing them here means a bug in a capability check (or in the code behind it) is not reachable.
 */
export const REFUSED_SYSCALLS: readonly SyscallName[] = [
  // Reshaping the filesystem view bwrap built: the mount table is the sandbox's file boundary.
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
  // A nested user namespace hands the agent a full capability set over new namespaces: the usual
  // first step of kernel privilege escalations, and a way out of the mounts above.
  'unshare',
  'setns',
  // Reading or writing another process's memory or file descriptors.
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  'pidfd_getfd',
  'kcmp',
  // Large kernel attack surface with a long CVE history; keyrings are not namespaced.
  'bpf',
  'perf_event_open',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  'userfaultfd',
  'keyctl',
  'add_key',
  'request_key',
  // Host administration: modules, kexec, power, swap, clocks, accounting, quotas, kernel log.
  'init_module',
  'finit_module',
  'delete_module',
  'kexec_load',
  'kexec_file_load',
  'reboot',
  'swapon',
  'swapoff',
  'settimeofday',
  'clock_settime',
  'clock_adjtime',
  'adjtimex',
  'acct',
  'quotactl',
  'quotactl_fd',
  'syslog',
  'vhangup',
  'lookup_dcookie',
  'nfsservctl',
  'uselib',
  'fanotify_init',
  // open_by_handle_at opens any inode on a mount by handle, bypassing the bind-mount view
  // (the "shocker" container escape).
  'open_by_handle_at',
  'name_to_handle_at',
  // Direct I/O port access (x86 only).
  'iopl',
  'ioperm',
];

// ---------------------------------------------------------------------------------------------
// Blocks. After the prologue the accumulator holds nr; a block that loads an argument must end
// in RET on every path, so the next block can still compare nr.

function prologue(arch: SeccompArch): Step[] {
  const steps = [
    // A syscall made through another ABI (int 0x80 on x86_64, AArch32 compat) carries numbers from
    // another table, so number-based rules would be bypassed: kill rather than interpret it.
    loadWord(SECCOMP_DATA_ARCH),
    op(BPF_JMP_JEQ_K, AUDIT_ARCH[arch], 'arch-ok', null),
    ret(SECCOMP_RET_KILL_PROCESS),
    label('arch-ok'),
    loadWord(SECCOMP_DATA_NR),
  ];
  if (arch === 'x86_64') {
    // x32 shares AUDIT_ARCH_X86_64 but sets this bit in nr and has its own numbering. nr == -1 also
    // has the bit set but is no x32 call: programs probe with syscall(-1) and the kernel answers
    // ENOSYS, so it falls through (as in libseccomp's filters) instead of killing the process.
    steps.push(
      op(BPF_JMP_JGE_K, X32_SYSCALL_BIT, null, END),
      op(BPF_JMP_JEQ_K, NO_SYSCALL, END, null),
      ret(SECCOMP_RET_KILL_PROCESS),
    );
  }
  return steps;
}

function refuseBlock(nr: number, action: number): Step[] {
  return [op(BPF_JMP_JEQ_K, nr, null, END), ret(action)];
}

// clone's flags are arg0 on both ABIs (the stack/tid/tls order differs, not the flags). The kernel
// only reads the low 32 bits (sys_clone uses lower_32_bits), so checking that word is exact.
function cloneBlock(nr: number): Step[] {
  return [
    op(BPF_JMP_JEQ_K, nr, null, END),
    loadWord(argLowWord(0)),
    op(BPF_JMP_JSET_K, CLONE_NAMESPACE_FLAGS, 'refuse', null),
    ret(SECCOMP_RET_ALLOW),
    label('refuse'),
    ret(REFUSE),
  ];
}

// personality() takes an unsigned int. Only the default persona and the query are allowed: other
// personas switch off ASLR (ADDR_NO_RANDOMIZE) or map page zero (MMAP_PAGE_ZERO), which help exploits.
function personalityBlock(nr: number): Step[] {
  return [
    op(BPF_JMP_JEQ_K, nr, null, END),
    loadWord(argLowWord(0)),
    op(BPF_JMP_JEQ_K, PER_LINUX, 'allow', null),
    op(BPF_JMP_JEQ_K, PERSONALITY_QUERY, 'allow', null),
    ret(REFUSE),
    label('allow'),
    ret(SECCOMP_RET_ALLOW),
  ];
}

// TIOCSTI pushes bytes into a terminal's input queue and TIOCLINUX can paste the console selection:
// both let a sandboxed process type commands into the shell outside it when they share a tty. The
// kernel reads the request as an unsigned int, so the low word is the whole request.
function ioctlBlock(nr: number): Step[] {
  return [
    op(BPF_JMP_JEQ_K, nr, null, END),
    loadWord(argLowWord(1)),
    op(BPF_JMP_JEQ_K, TIOCSTI, 'refuse', null),
    op(BPF_JMP_JEQ_K, TIOCLINUX, 'refuse', null),
    ret(SECCOMP_RET_ALLOW),
    label('refuse'),
    ret(REFUSE),
  ];
}

// Socket families by allow-list. The network namespace confines AF_INET/AF_INET6 to the sandbox's
// loopback, but other families do not go through it: AF_VSOCK reaches the hypervisor side of a VM
// host, AF_PACKET/AF_ALG/AF_KEY/AF_TIPC/… are large, rarely used kernel code with a long CVE
// history, and opening an unknown family makes the kernel autoload its module (net-pf-N). They get
// EAFNOSUPPORT, the answer of a kernel built without the family, which programs already handle. The
// family is an int, so the low word is the whole argument.
//   AF_NETLINK stays for NETLINK_ROUTE only: getifaddrs() (Node's os.networkInterfaces(), Python's
//   if_nameindex, `ip addr`) and glibc's AI_ADDRCONFIG lookups read the sandbox's own interfaces
//   through it. Other netlink protocols (sock_diag, audit, uevents, netfilter, …) are refused with
//   EPROTONOSUPPORT; `ss` falls back to /proc/net without sock_diag.
// Under gVisor the supervisor installs this filter in the sentry, which enforces it for the sandbox's
// tasks; gVisor itself implements unix, inet, inet6, packet (with CAP_NET_RAW) and netlink route and
// uevent sockets, so the rule takes packet and uevent sockets away there.
function socketBlock(nr: number): Step[] {
  return [
    op(BPF_JMP_JEQ_K, nr, null, END),
    loadWord(argLowWord(0)),
    op(BPF_JMP_JEQ_K, AF_UNIX, 'allow', null),
    op(BPF_JMP_JEQ_K, AF_INET, 'allow', null),
    op(BPF_JMP_JEQ_K, AF_INET6, 'allow', null),
    op(BPF_JMP_JEQ_K, AF_NETLINK, 'netlink', null),
    ret(SECCOMP_RET_ERRNO | EAFNOSUPPORT),
    label('netlink'),
    loadWord(argLowWord(2)),
    op(BPF_JMP_JEQ_K, NETLINK_ROUTE, 'allow', null),
    ret(SECCOMP_RET_ERRNO | EPROTONOSUPPORT),
    label('allow'),
    ret(SECCOMP_RET_ALLOW),
  ];
}

// socketpair is the other way to make a socket of a family: only AF_UNIX has a real socketpair (a
// few others, AF_TIPC among them, implement one too, and would autoload their module for it).
function socketpairBlock(nr: number): Step[] {
  return [
    op(BPF_JMP_JEQ_K, nr, null, END),
    loadWord(argLowWord(0)),
    op(BPF_JMP_JEQ_K, AF_UNIX, 'allow', null),
    ret(SECCOMP_RET_ERRNO | EAFNOSUPPORT),
    label('allow'),
    ret(SECCOMP_RET_ALLOW),
  ];
}

function required(table: SyscallTable, name: SyscallName, arch: SeccompArch): number {
  const nr = table[name];
  if (nr === undefined) {
    throw new AirlockError('INTERNAL', 'seccomp filter needs a syscall missing from the table', {
      arch,
      syscall: name,
    });
  }
  return nr;
}

function blocksFor(arch: SeccompArch): Step[][] {
  const table = syscallNumbers[arch];
  const blocks: Step[][] = [
    prologue(arch),
    cloneBlock(required(table, 'clone', arch)),
    // clone3's flags live in a struct in user memory, which seccomp cannot read. ENOSYS makes glibc
    // (and other runtimes) fall back to clone, whose flags the block above does inspect.
    refuseBlock(required(table, 'clone3', arch), SECCOMP_RET_ERRNO | ENOSYS),
    personalityBlock(required(table, 'personality', arch)),
    ioctlBlock(required(table, 'ioctl', arch)),
    socketBlock(required(table, 'socket', arch)),
    socketpairBlock(required(table, 'socketpair', arch)),
  ];
  for (const name of REFUSED_SYSCALLS) {
    const nr = table[name];
    // Absent from this ABI (iopl, ioperm and uselib on aarch64): nothing to refuse.
    if (nr !== undefined) blocks.push(refuseBlock(nr, REFUSE));
  }
  blocks.push([ret(SECCOMP_RET_ALLOW)]);
  return blocks;
}

/**
 * The raw `struct sock_filter[]` bwrap expects on `--seccomp FD`: 8 bytes per instruction
 * (u16 code, u8 jt, u8 jf, u32 k), little-endian. Pure: same options, same bytes.
 */
export function buildSeccompFilter(options: SeccompFilterOptions): Buffer {
  return encode(blocksFor(options.arch).flatMap(assembleBlock));
}

/**
 * The seccomp ABI of this Node process. Throws SANDBOX_UNAVAILABLE on any other architecture: a
 * filter for the wrong ABI would kill every process, and no filter would drop a protection.
 */
export function hostSeccompArch(nodeArch: string = process.arch): SeccompArch {
  if (nodeArch === 'x64') return 'x86_64';
  if (nodeArch === 'arm64') return 'aarch64';
  throw new AirlockError('SANDBOX_UNAVAILABLE', 'no seccomp filter for this CPU architecture', {
    arch: nodeArch,
  });
}

/*
 * Security limitations
 * - Syscalls by deny-list, not allow-list: a syscall not named here, including every syscall added
 *   to the kernel after this file, is allowed. We chose a deny-list because agents run arbitrary
 *   toolchains (compilers, language runtimes, package managers, browsers) whose syscall sets no
 *   allow-list keeps up with; the main boundary is bwrap's namespaces and the empty capability set,
 *   and this filter narrows the kernel surface behind that boundary. Socket families, by contrast,
 *   are an allow-list (AF_UNIX, AF_INET, AF_INET6, AF_NETLINK/NETLINK_ROUTE): a family added to the
 *   kernel later is refused. Socket types and protocols within an allowed family (SOCK_RAW, …) are
 *   left to the kernel, which refuses the raw ones for lack of CAP_NET_RAW.
 * - clone3 is refused wholesale (ENOSYS), since its flags cannot be inspected; a program that
 *   requires clone3 without falling back to clone will fail inside the sandbox.
 * - unshare is refused for every flag, including harmless ones like CLONE_FILES.
 * - Only x86_64 and aarch64 are supported; other ABIs of the same kernel (i386, x32, AArch32) are
 *   killed, not filtered.
 * - SECCOMP_RET_KILL_PROCESS needs Linux 4.14; older kernels treat it as killing only the thread.
 * - The filter sees syscall arguments, never the memory they point to, so it cannot judge paths,
 *   socket addresses or structs (the same reason clone3 is refused).
 */
