/**
 * Syscall numbers for the ABIs the seccomp filter supports: only the syscalls the filter names.
 *
 * x86_64 numbers come from arch/x86/entry/syscalls/syscall_64.tbl (installed as
 * /usr/include/x86_64-linux-gnu/asm/unistd_64.h); aarch64 uses the asm-generic table
 * (include/uapi/asm-generic/unistd.h, from 6.11 on scripts/syscall.tbl), with the 64-bit choices:
 * `__BITS_PER_LONG == 64` and `__ARCH_WANT_SYS_CLONE3`. A wrong number here silently turns a refusal
 * into an allow, so filter.test.ts compares this table with the kernel headers installed on the
 * machine whenever they are present.
 */

export type SeccompArch = 'x86_64' | 'aarch64';

const x86_64 = {
  // Syscalls the filter inspects (arguments) or answers specially.
  ioctl: 16,
  socket: 41,
  socketpair: 53,
  clone: 56,
  personality: 135,
  clone3: 435,

  // Mount API.
  pivot_root: 155,
  mount: 165,
  umount2: 166,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  mount_setattr: 442,
  // Added in Linux 6.15, newer than the headers on the development machine: verified against
  // syscall_64.tbl upstream. Unified number across architectures since 424.
  open_tree_attr: 467,

  // Namespaces.
  unshare: 272,
  setns: 308,

  // Reaching into other processes.
  ptrace: 101,
  process_vm_readv: 310,
  process_vm_writev: 311,
  kcmp: 312,
  pidfd_getfd: 438,

  // Kernel attack surface.
  keyctl: 250,
  add_key: 248,
  request_key: 249,
  perf_event_open: 298,
  bpf: 321,
  userfaultfd: 323,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,

  // Host administration.
  syslog: 103,
  uselib: 134,
  vhangup: 153,
  adjtimex: 159,
  acct: 163,
  settimeofday: 164,
  swapon: 167,
  swapoff: 168,
  reboot: 169,
  iopl: 172,
  ioperm: 173,
  init_module: 175,
  delete_module: 176,
  quotactl: 179,
  nfsservctl: 180,
  lookup_dcookie: 212,
  clock_settime: 227,
  kexec_load: 246,
  fanotify_init: 300,
  name_to_handle_at: 303,
  open_by_handle_at: 304,
  clock_adjtime: 305,
  finit_module: 313,
  kexec_file_load: 320,
  quotactl_fd: 443,
} as const;

// asm-generic has no uselib, iopl or ioperm: those are x86-only, so aarch64 has nothing to refuse.
const aarch64 = {
  ioctl: 29,
  socket: 198,
  socketpair: 199,
  clone: 220,
  personality: 92,
  clone3: 435,

  umount2: 39,
  mount: 40,
  pivot_root: 41,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  mount_setattr: 442,
  open_tree_attr: 467,

  unshare: 97,
  setns: 268,

  ptrace: 117,
  process_vm_readv: 270,
  process_vm_writev: 271,
  kcmp: 272,
  pidfd_getfd: 438,

  add_key: 217,
  request_key: 218,
  keyctl: 219,
  perf_event_open: 241,
  bpf: 280,
  userfaultfd: 282,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,

  lookup_dcookie: 18,
  nfsservctl: 42,
  vhangup: 58,
  quotactl: 60,
  acct: 89,
  kexec_load: 104,
  init_module: 105,
  delete_module: 106,
  clock_settime: 112,
  syslog: 116,
  reboot: 142,
  settimeofday: 170,
  adjtimex: 171,
  swapon: 224,
  swapoff: 225,
  fanotify_init: 262,
  name_to_handle_at: 264,
  open_by_handle_at: 265,
  clock_adjtime: 266,
  finit_module: 273,
  kexec_file_load: 294,
  quotactl_fd: 443,
} as const;

export type SyscallName = keyof typeof x86_64 | keyof typeof aarch64;

/** A name missing from an architecture's table means that syscall does not exist on that ABI. */
export type SyscallTable = Readonly<Partial<Record<SyscallName, number>>>;

export const syscallNumbers: Readonly<Record<SeccompArch, SyscallTable>> = Object.freeze({
  x86_64: Object.freeze(x86_64),
  aarch64: Object.freeze(aarch64),
});
