/*
 * airlock-helper: the small native pieces of the sandbox drivers.
 *
 *   airlock-helper launch [--cgroup-procs FILE]... [--uid N --gid N] [--no-membarrier-registration]
 *                         (--instructions FD | -- PROGRAM ARGS...)
 *     Host side. Joins the session's cgroups *before* anything else runs (so every process bwrap
 *     forks is born inside the limits; moving a running tree later would race with its forks),
 *     drops root for an unprivileged host uid (so even a full namespace escape lands as nobody,
 *     not as host root), then execs PROGRAM (bwrap, or runsc for gVisor).
 *     --no-membarrier-registration  PROGRAM and everything it starts get EPERM from
 *                membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) (see refuse_membarrier_registration).
 *
 *   airlock-helper supervise
 *     Inside the sandbox. A session sandbox must outlive one command: files persist and background
 *     servers keep running between calls. Spawning bwrap per command cannot give that, and costs
 *     a full namespace setup each time. So bwrap starts this supervisor once; the host sends it
 *     framed requests on stdin and reads framed replies on stdout. A command then costs one process
 *     start inside the namespaces that already exist.
 *
 *     Each command runs under its own "keeper": a process marked as a child subreaper, made with
 *     clone(CLONE_VM) so that it shares the supervisor's memory instead of copying it (see
 *     "starting a command" below). Every process the command starts (even after
 *     setsid/nohup/double-fork) stays in the keeper's subtree, because orphans are re-parented to
 *     the nearest subreaper. A timeout or kill therefore finds the whole tree by walking the
 *     keeper's descendants, while background processes of a command that finished normally keep
 *     running under their keeper.
 *
 *   airlock-helper confine [--remove PATH]... [--user UID:GID] [--userns] [--seccomp FILE]...
 *     Inside a gVisor or Docker sandbox, as its first process. Those runtimes build the namespaces
 *     and mounts themselves; this mode adds what bwrap adds for the bubblewrap driver, then becomes
 *     the same supervisor, so commands, timeouts, kill-tree and file copies behave identically:
 *     --remove   removes PATH, a file or an empty directory (a device node the runtime adds
 *                unasked, e.g. gVisor's /dev/fuse); needs the owner's uid, no capability;
 *     --user     switches to UID:GID with no supplementary groups (needs CAP_SETUID/CAP_SETGID,
 *                which are then gone with the rest);
 *     --userns   a user namespace of its own, mapping only the current uid/gid (Docker without
 *                userns-remap shares the host's user namespace otherwise);
 *     (always)   every capability dropped, bounding and ambient sets included, and no_new_privs;
 *     --seccomp  each FILE holds a classic BPF program (struct sock_filter[]) to install, in order.
 *
 * Frames (both directions): u32 length (of everything after it), u8 type, u32 id, payload.
 * All integers little-endian. See src/sandbox/supervisor/protocol.ts for the other side.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/membarrier.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROTOCOL_VERSION 1
/* Requests larger than this are refused: the host chunks file data well below it. */
#define MAX_FRAME (4u * 1024u * 1024u)
#define MAX_COMMANDS 256
#define READ_CHUNK 65536
#define MAX_PATH_DEPTH 64
/* Each pass of the tree kill sends SIGKILL to every live descendant; a fork bomb is bounded by
 * the pids cgroup, so a few hundred passes always converge. */
#define KILL_PASSES 500

enum {
  REQ_EXEC = 1,
  REQ_KILL = 2,
  REQ_READ_FILE = 3,
  REQ_WRITE_FILE = 4,
  REQ_LIST = 5,
  REQ_MKDIR = 6,

  REP_READY = 64,
  REP_STARTED = 65,
  REP_STDOUT = 66,
  REP_STDERR = 67,
  REP_EXITED = 68,
  REP_DATA = 69,
  REP_OK = 70,
  REP_ERROR = 71,
};

/* ---------- small utilities ---------- */

static void die(const char *what) {
  fprintf(stderr, "airlock-helper: %s: %s\n", what, strerror(errno));
  _exit(125);
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t get_u64(const unsigned char *p) {
  return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

static void put_u64(unsigned char *p, uint64_t v) {
  put_u32(p, (uint32_t)v);
  put_u32(p + 4, (uint32_t)(v >> 32));
}

static int write_all(int fd, const void *buf, size_t len) {
  const unsigned char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int read_all(int fd, void *buf, size_t len) {
  unsigned char *p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) return 1; /* EOF */
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------- raw system calls and clone ----------
 *
 * Processes made with clone(CLONE_VM) share memory with their parent, thread-local storage included,
 * and with it libc's errno: a libc wrapper that fails in one of them writes the errno the other is
 * about to read. Code that runs in such a process after the clone therefore calls the kernel through
 * raw_syscall(), which returns -errno and touches no memory but its arguments, and uses no allocator,
 * stdio or lock. launch_clone() makes such a process and runs a function in it on a given stack.
 */

#if defined(__x86_64__)
static inline long raw_syscall(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

/* long launch_clone(int (*fn)(void *), void *stack_top, unsigned long flags, void *arg): the
 * child runs fn(arg) on stack_top and exits with its result; returns the child's pid or -errno
 * (never touches errno). Like musl's __clone, without the tid/tls arguments. */
__asm__(".text\n"
        ".type launch_clone,@function\n"
        "launch_clone:\n"
        "  and $-16, %rsi\n"
        "  sub $16, %rsi\n"
        "  mov %rdi, (%rsi)\n"   /* fn, popped by the child */
        "  mov %rcx, 8(%rsi)\n"  /* arg */
        "  mov %rdx, %rdi\n"     /* flags */
        "  xor %edx, %edx\n"     /* parent_tid */
        "  xor %r10d, %r10d\n"   /* child_tid */
        "  xor %r8d, %r8d\n"     /* tls */
        "  mov $56, %eax\n"      /* SYS_clone */
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jnz 1f\n"
        "  xor %ebp, %ebp\n"
        "  pop %rax\n"
        "  pop %rdi\n"
        "  call *%rax\n"
        "  mov %eax, %edi\n"
        "  mov $60, %eax\n"      /* SYS_exit */
        "  syscall\n"
        "  hlt\n"
        "1:\n"
        "  ret\n"
        ".size launch_clone, .-launch_clone\n");
#elif defined(__aarch64__)
static inline long raw_syscall(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
}

__asm__(".text\n"
        ".type launch_clone,%function\n"
        "launch_clone:\n"
        "  and x1, x1, #-16\n"
        "  stp x0, x3, [x1, #-16]!\n" /* fn and arg, popped by the child */
        "  mov x0, x2\n"              /* flags */
        "  mov x2, xzr\n"             /* parent_tid */
        "  mov x3, xzr\n"             /* tls */
        "  mov x4, xzr\n"             /* child_tid */
        "  mov x8, #220\n"            /* SYS_clone */
        "  svc #0\n"
        "  cbz x0, 1f\n"
        "  ret\n"
        "1:\n"
        "  ldp x1, x0, [sp], #16\n"
        "  blr x1\n"
        "  mov x8, #93\n"             /* SYS_exit */
        "  svc #0\n"
        "  brk #0\n"
        ".size launch_clone, .-launch_clone\n");
#else
#error "airlock-helper starts commands with raw clone(2): add this architecture's syscall and clone stubs"
#endif

long launch_clone(int (*fn)(void *), void *stack_top, unsigned long flags, void *arg);

#define sys0(n) raw_syscall((n), 0, 0, 0, 0, 0, 0)
#define sys1(n, a) raw_syscall((n), (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) raw_syscall((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) raw_syscall((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) raw_syscall((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys5(n, a, b, c, d, e) raw_syscall((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

#define GUARD_BYTES 4096

/* ---------- launch mode (host side) ---------- */

/* Reads the program to run from `fd`: u32 length, then that many bytes of NUL-terminated argv
 * strings. Returns NULL on EOF (the control plane closed it: it no longer wants this launcher). */
static char **read_instructions(int fd) {
  unsigned char header[4];
  if (read_all(fd, header, sizeof header) != 0) return NULL;
  uint32_t length = get_u32(header);
  if (length == 0 || length > MAX_FRAME) {
    fprintf(stderr, "airlock-helper: launch: bad instructions length %u\n", length);
    _exit(125);
  }
  char *data = malloc(length);
  if (!data || read_all(fd, data, length) != 0 || data[length - 1] != '\0') {
    fprintf(stderr, "airlock-helper: launch: truncated instructions\n");
    _exit(125);
  }
  size_t count = 0;
  for (uint32_t i = 0; i < length; i++)
    if (data[i] == '\0') count++;
  char **argv = calloc(count + 1, sizeof(char *));
  if (!argv) die("calloc");
  char *cursor = data;
  for (size_t k = 0; k < count; k++) {
    argv[k] = cursor;
    cursor += strlen(cursor) + 1;
  }
  return argv;
}

/*
 * runsc (the Debian build of 2024-07-29) registers every one of its processes for private expedited
 * membarrier in a package init. For a process that already has threads, as a Go program has by
 * then, the kernel completes that registration only after an RCU grace period: about 20 ms here,
 * paid by `runsc run` and twice by the sandbox's `runsc boot` (it re-executes itself), all on the
 * path to a started sandbox. Only gVisor's KVM platform uses that barrier (systrap and ptrace use
 * the global one, which stays available), and runsc carries on with a warning when registration is
 * refused, as on kernels without it. This filter refuses just that command, for runsc and its
 * children. It is not a security boundary: the sandbox's own filters are installed above it, and a
 * program inside gVisor never reaches the host's membarrier.
 */
#if defined(__x86_64__)
#define HELPER_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define HELPER_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif
static void refuse_membarrier_registration(void) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, HELPER_AUDIT_ARCH, 0, 5),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
  /* Root holds CAP_SYS_ADMIN, so no no_new_privs is needed (runsc must keep setuid and caps). */
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) die("seccomp (membarrier)");
}

static int launch_main(int argc, char **argv) {
  long uid = -1, gid = -1, instructions_fd = -1;
  int refuse_membarrier = 0;
  int i = 2;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    } else if (strcmp(argv[i], "--cgroup-procs") == 0 && i + 1 < argc) {
      /* Writing "0" moves the writer itself: the kernel resolves it to the caller's pid. */
      int fd = open(argv[++i], O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write_all(fd, "0", 1) != 0) {
        fprintf(stderr, "airlock-helper: cannot join cgroup %s: %s\n", argv[i], strerror(errno));
        _exit(125);
      }
      close(fd);
    } else if (strcmp(argv[i], "--uid") == 0 && i + 1 < argc) {
      uid = strtol(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--gid") == 0 && i + 1 < argc) {
      gid = strtol(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--instructions") == 0 && i + 1 < argc) {
      instructions_fd = strtol(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--no-membarrier-registration") == 0) {
      refuse_membarrier = 1;
    } else {
      fprintf(stderr, "airlock-helper: launch: unknown argument %s\n", argv[i]);
      _exit(125);
    }
  }
  if (gid >= 0) {
    if (setgroups(0, NULL) != 0) die("setgroups");
    if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0) die("setresgid");
  }
  if (uid >= 0 && setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) die("setresuid");
  char **program = argv + i;
  if (instructions_fd >= 0) {
    /* Parked: the launcher may be started ahead of need, already inside its cgroup and without
     * privileges, and only learns what to run when a sandbox is requested. */
    program = read_instructions((int)instructions_fd);
    if (!program) _exit(0);
    close((int)instructions_fd);
  }
  if (!program[0]) {
    fprintf(stderr, "airlock-helper: launch: no program to run\n");
    _exit(125);
  }
  /* If the control plane is already gone, do not start a sandbox nobody will ever destroy. */
  if (getppid() == 1) {
    fprintf(stderr, "airlock-helper: parent exited before launch\n");
    _exit(125);
  }
  if (refuse_membarrier) refuse_membarrier_registration();
  execv(program[0], program);
  die("exec");
  return 125;
}

/* ---------- confine mode (inside a gVisor or Docker sandbox) ---------- */

#define MAX_FILTERS 8
#define MAX_FILTER_BYTES (4096 * 8)

static void write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write_all(fd, text, strlen(text)) != 0) die(path);
  close(fd);
}

static void install_filter(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(path);
  static unsigned char buf[MAX_FILTER_BYTES + 1];
  size_t used = 0;
  for (;;) {
    ssize_t n = read(fd, buf + used, sizeof buf - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die(path);
    if (n == 0) break;
    used += (size_t)n;
    if (used > MAX_FILTER_BYTES) break;
  }
  close(fd);
  if (used == 0 || used > MAX_FILTER_BYTES || used % sizeof(struct sock_filter) != 0) {
    fprintf(stderr, "airlock-helper: %s is not a seccomp program (%zu bytes)\n", path, used);
    _exit(125);
  }
  struct sock_fprog prog = {.len = (unsigned short)(used / sizeof(struct sock_filter)),
                            .filter = (struct sock_filter *)buf};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) die("seccomp");
}

/* Drops every capability for good. Right after a user namespace is made the process holds a full
 * set in it (useless against namespaces it does not own, but inherited by anything it runs), and a
 * runtime may leave a bounding set behind; a command must start with all five sets empty. */
static void drop_capabilities(void) {
  for (int cap = 0; cap <= 63; cap++) {
    int present = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (present < 0) break; /* past the kernel's last capability */
    if (present == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) die("dropping the capability bounding set");
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) die("clearing ambient capabilities");
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &header, data) != 0) die("capset");
}

static int supervise_main(void);

/* The supervisor's own stack when it runs as pid 1's child (see confine_main): the size of a main
 * thread's default stack; only the pages it touches are ever backed. */
#define SUPERVISOR_STACK_BYTES (8 * 1024 * 1024)

static int supervisor_entry(void *unused) {
  (void)unused;
  return supervise_main();
}

static void remove_path(const char *path) {
  /* remove(): a file or an empty directory, so a directory a device lived in can go after it. */
  if (remove(path) != 0 && errno != ENOENT) die(path);
}

static int confine_main(int argc, char **argv) {
  int userns = 0, filters = 0, removals = 0;
  long uid = -1, gid = -1;
  const char *filter_paths[MAX_FILTERS], *remove_paths[MAX_FILTERS];
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--userns") == 0) {
      userns = 1;
    } else if (strcmp(argv[i], "--seccomp") == 0 && i + 1 < argc && filters < MAX_FILTERS) {
      filter_paths[filters++] = argv[++i];
    } else if (strcmp(argv[i], "--remove") == 0 && i + 1 < argc && removals < MAX_FILTERS) {
      remove_paths[removals++] = argv[++i];
    } else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
      char *end;
      uid = strtol(argv[++i], &end, 10);
      gid = *end == ':' ? strtol(end + 1, &end, 10) : -1;
      if (*end != '\0' || uid < 0 || gid < 0) {
        fprintf(stderr, "airlock-helper: confine: --user wants UID:GID, got %s\n", argv[i]);
        _exit(125);
      }
    } else {
      fprintf(stderr, "airlock-helper: confine: unknown argument %s\n", argv[i]);
      _exit(125);
    }
  }
  for (int k = 0; k < removals; k++) remove_path(remove_paths[k]);
  if (uid >= 0) {
    /* The bounding set goes first: dropping it needs CAP_SETPCAP, which the uid switch clears. */
    for (int cap = 0; cap <= 63; cap++) {
      int present = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
      if (present < 0) break;
      if (present == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) die("dropping the capability bounding set");
    }
    if (setgroups(0, NULL) != 0) die("setgroups");
    if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0) die("setresgid");
    if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) die("setresuid");
  }
  if (userns) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER) != 0) die("unshare(CLONE_NEWUSER)");
    char map[64];
    /* setgroups must be denied before an unprivileged process may write its gid_map. */
    write_text("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
    write_text("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
    write_text("/proc/self/gid_map", map);
  }
  drop_capabilities();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("no_new_privs");
  for (int k = 0; k < filters; k++) install_filter(filter_paths[k]);
  if (getpid() == 1) {
    /* The kernel ignores a SIGKILL sent to a pid namespace's init from inside it, so a supervisor
     * running as pid 1 could not be killed by a command the way it can under bwrap (ending only
     * its own session). The supervisor therefore runs as pid 1's child; pid 1 only waits for it and
     * then exits, which ends the container and every process left in it. The child is a
     * clone(CLONE_VM) on a stack of its own rather than a fork: under gVisor a new address space
     * (and the copy-on-write faults of both sides) is the slowest part of starting the sandbox. */
    char *stack = mmap(NULL, GUARD_BYTES + SUPERVISOR_STACK_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (stack == MAP_FAILED || mprotect(stack, GUARD_BYTES, PROT_NONE) != 0) die("mmap");
    char *stack_top = stack + GUARD_BYTES + SUPERVISOR_STACK_BYTES;
    long supervisor = launch_clone(supervisor_entry, stack_top, CLONE_VM | SIGCHLD, NULL);
    if (supervisor < 0) {
      errno = (int)-supervisor;
      die("clone");
    }
    /* From here on pid 1 shares the supervisor's memory: raw system calls only. */
    sys1(SYS_close, 0);
    sys1(SYS_close, 1);
    for (;;) {
      int status;
      long pid = sys4(SYS_wait4, -1, &status, 0, NULL);
      if (pid == supervisor) sys1(SYS_exit_group, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
      if (pid < 0 && pid != -EINTR) sys1(SYS_exit_group, 125);
    }
  }
  return supervise_main();
}

/* ---------- supervisor: frames ---------- */

static int out_fd = 1;

static void send_frame(uint8_t type, uint32_t id, const void *payload, size_t len) {
  unsigned char header[9];
  put_u32(header, (uint32_t)(len + 5));
  header[4] = type;
  put_u32(header + 5, id);
  /* The host side is gone if this fails; nothing left to serve. */
  if (write_all(out_fd, header, sizeof header) != 0) _exit(0);
  if (len > 0 && write_all(out_fd, payload, len) != 0) _exit(0);
}

static void send_error(uint32_t id, int err, const char *message) {
  unsigned char buf[4 + 512];
  put_u32(buf, (uint32_t)err);
  size_t mlen = strlen(message);
  if (mlen > 511) mlen = 511;
  memcpy(buf + 4, message, mlen);
  send_frame(REP_ERROR, id, buf, 4 + mlen);
}

/* ---------- supervisor: commands ---------- */

struct command {
  int used;
  uint32_t id;
  pid_t keeper;
  /* What the keeper and its command child read (see make_launch); freed once the keeper is reaped. */
  struct launch *launch;
  int out_fd, err_fd, status_fd, in_fd;
  unsigned char *stdin_buf;
  size_t stdin_len, stdin_off;
  int64_t deadline_ms; /* 0 = none */
  int timed_out, killed, keeper_lost;
  int have_status, status;
  int start_errno; /* the command could not start: reported as an error, not an exit */
  int reported;
};

static struct command commands[MAX_COMMANDS];
static sigset_t original_mask;

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* Collect live (non-zombie) descendants of `root` by scanning /proc (the sandbox's own procfs,
 * so only sandbox processes are visible). */
static int collect_descendants(pid_t root, pid_t *out, int max) {
  static pid_t pids[32768], ppids[32768];
  static char states[32768];
  int n = 0;
  DIR *dir = opendir("/proc");
  if (!dir) return 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL && n < 32768) {
    char *end;
    long pid = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0) continue;
    buf[len] = '\0';
    /* comm may contain spaces and parentheses: fields resume after the last ')'. */
    char *close_paren = strrchr(buf, ')');
    if (!close_paren || close_paren[1] == '\0') continue;
    char state;
    long ppid;
    if (sscanf(close_paren + 2, "%c %ld", &state, &ppid) != 2) continue;
    pids[n] = (pid_t)pid;
    ppids[n] = (pid_t)ppid;
    states[n] = state;
    n++;
  }
  closedir(dir);
  int count = 0;
  /* Breadth-first over the parent links; a zombie's children are still walked. */
  pid_t queue[4096];
  int head = 0, tail = 0;
  queue[tail++] = root;
  while (head < tail) {
    pid_t parent = queue[head++];
    for (int i = 0; i < n; i++) {
      if (ppids[i] != parent) continue;
      if (tail < 4096) queue[tail++] = pids[i];
      if (states[i] != 'Z' && count < max) out[count++] = pids[i];
    }
  }
  return count;
}

static void kill_tree(pid_t root) {
  static pid_t victims[4096];
  for (int pass = 0; pass < KILL_PASSES; pass++) {
    int n = collect_descendants(root, victims, 4096);
    if (n == 0) return;
    for (int i = 0; i < n; i++) kill(victims[i], SIGKILL);
    /* Let the killed processes exit so their children are re-parented before the next scan. */
    struct timespec pause = {0, 200000};
    nanosleep(&pause, NULL);
  }
}

/* The first kill of a command's tree stops every other process of the sandbox while it runs:
 * kill(-1) reaches only this pid namespace (never the host), and neither pid 1 nor the caller. A
 * fork bomb at the process limit refills each slot a kill frees before the next scan finds the new
 * process; where forks and scans are slow (gVisor, with the supervisor getting a few milliseconds
 * of CPU a second among hundreds of bomb processes) the tree kill never converged. A stopped
 * process neither forks nor competes for the CPU. The other commands' processes are continued at
 * once; they see a stop and a continue (their parents a SIGCHLD), and one the agent had stopped
 * itself is continued too. */
static void kill_tree_stopping_others(pid_t root) {
  kill(-1, SIGSTOP);
  kill_tree(root);
  kill(-1, SIGCONT);
}

static struct command *find_command(uint32_t id) {
  for (int i = 0; i < MAX_COMMANDS; i++)
    if (commands[i].used && commands[i].id == id) return &commands[i];
  return NULL;
}

/* Bounded: the dead shell's unread output fits in the pipe buffer; anything beyond that is a
 * background process still writing, and it must not keep the result from going out. */
#define DRAIN_READS 32

static void drain(int *fd, uint8_t type, uint32_t id) {
  unsigned char buf[READ_CHUNK];
  for (int reads = 0; *fd >= 0 && reads < DRAIN_READS; reads++) {
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n > 0) {
      send_frame(type, id, buf, (size_t)n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) close_fd(fd);
    return; /* EAGAIN: whatever a background process writes later is not this command's result */
  }
}

static void report_exit(struct command *c) {
  if (c->start_errno) {
    send_error(c->id, c->start_errno,
               c->start_errno == EAGAIN ? "cannot start the command: the session's process limit (pids) is reached"
                                        : "cannot start the command: clone failed");
    c->reported = 1;
    close_fd(&c->status_fd);
    close_fd(&c->in_fd);
    free(c->stdin_buf);
    c->stdin_buf = NULL;
    return;
  }
  drain(&c->out_fd, REP_STDOUT, c->id);
  drain(&c->err_fd, REP_STDERR, c->id);
  unsigned char payload[12];
  int32_t code = -1, sig = 0;
  if (c->have_status) {
    if (WIFEXITED(c->status)) code = WEXITSTATUS(c->status);
    else if (WIFSIGNALED(c->status)) sig = WTERMSIG(c->status);
  } else {
    sig = SIGKILL;
  }
  put_u32(payload, (uint32_t)code);
  put_u32(payload + 4, (uint32_t)sig);
  payload[8] = (unsigned char)c->timed_out;
  payload[9] = (unsigned char)c->killed;
  payload[10] = (unsigned char)c->keeper_lost;
  payload[11] = 0;
  send_frame(REP_EXITED, c->id, payload, sizeof payload);
  c->reported = 1;
  close_fd(&c->status_fd);
  close_fd(&c->in_fd);
  free(c->stdin_buf);
  c->stdin_buf = NULL;
}

static void release_if_done(struct command *c) {
  /* A slot is reused only once the keeper (and so every background process) is gone. */
  if (c->reported && c->keeper <= 0) {
    close_fd(&c->out_fd);
    close_fd(&c->err_fd);
    c->used = 0;
  }
}

/* ---------- supervisor: starting a command (keeper and command child) ----------
 *
 * Each command runs under its own keeper (see the top of this file). The keeper is made with
 * clone(CLONE_VM): it shares the supervisor's memory instead of getting a copy. Under gVisor every
 * new address space is expensive (the sentry builds it and then services each copy-on-write fault
 * of both processes), and a fork of the supervisor plus the exec of the command cost two of them;
 * with CLONE_VM the command's exec is the only one. The command itself starts with
 * clone(CLONE_VM | CLONE_VFORK), as vfork does, on a stack of its own.
 *
 * Sharing memory with the supervisor, which keeps running, sets the rules for everything the
 * keeper and the command child do before its execve:
 *   - system calls only through raw_syscall(), and no allocation, stdio or lock (see "raw system
 *     calls" above);
 *   - they read only what the supervisor wrote before the clone and never changes afterwards: the
 *     command's struct launch and original_mask;
 *   - they run on their command slot's stacks; the struct launch is freed, and the slot's stacks
 *     are handed to another command, only after the keeper has been reaped, and a keeper that was
 *     killed is reaped only after kill_strays() has killed whatever it left, including a command
 *     child still between clone and execve: nothing runs on memory that is reused.
 * The supervisor is not dumpable (PR_SET_DUMPABLE 0 is a property of the shared memory, so the
 * keeper is not either) and the seccomp filter refuses ptrace and process_vm_writev: a command,
 * which runs as the same uid, cannot reach into the keeper's memory any more than into the
 * supervisor's. Signals it can send: a keeper killed by one is handled like before (kill_strays).
 */

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* The keeper only loops over system calls and the child writes a short message at most: small stacks,
 * each above a guard page. */
#define KEEPER_STACK_BYTES (64 * 1024)
#define CHILD_STACK_BYTES (32 * 1024)
/* Where the fd-closing fallback reads /proc/self/fd; beside the stacks, not on them. */
#define DIRENT_BUF_BYTES 8192
/* One command slot's stacks: [guard][keeper stack][guard][child stack][keeper dirents][child dirents].
 * Mapped on the slot's first command and kept for the next ones: under gVisor mmap, mprotect and
 * munmap each cost tens of microseconds and now and then milliseconds. */
#define STACKS_BYTES (GUARD_BYTES + KEEPER_STACK_BYTES + GUARD_BYTES + CHILD_STACK_BYTES + 2 * DIRENT_BUF_BYTES)
#define KEEPER_STACK_TOP (GUARD_BYTES + KEEPER_STACK_BYTES)
#define CHILD_STACK_TOP (KEEPER_STACK_TOP + GUARD_BYTES + CHILD_STACK_BYTES)

/* Everything a keeper and its command child read, followed by argv, envp and their strings. */
struct launch {
  int status_write, in_read, out_write, err_write;
  const char *exe, *cwd;
  char **argv, **envp;
  char *child_stack_top;
  char *keeper_dirents, *child_dirents;
};

static char *slot_stacks[MAX_COMMANDS];

/* Closes every fd from 3 up except `keep`: a leaked fd would hand a command another command's pipes.
 * close_range (Linux 5.9; gVisor) does it in one call per gap. Its last fd is INT_MAX, not ~0U:
 * Linux clamps any value, but gVisor refuses one above INT_MAX with EINVAL. Older kernels walk
 * /proc/self/fd, which lists only open fds, instead of looping to a limit that may be a million. */
static void raw_close_all_except(const int *keep, int count, char *dirents) {
  int sorted[4];
  int n = count < 4 ? count : 4;
  for (int k = 0; k < n; k++) sorted[k] = keep[k];
  for (int a = 1; a < n; a++)
    for (int b = a; b > 0 && sorted[b - 1] > sorted[b]; b--) {
      int t = sorted[b];
      sorted[b] = sorted[b - 1];
      sorted[b - 1] = t;
    }
  unsigned int from = 3;
  int ok = 1;
  for (int k = 0; k < n && ok; k++) {
    if (sorted[k] < (int)from) continue;
    if (sorted[k] > (int)from && sys3(SYS_close_range, from, (unsigned int)sorted[k] - 1, 0) != 0) ok = 0;
    from = (unsigned int)sorted[k] + 1;
  }
  if (ok && sys3(SYS_close_range, from, INT_MAX, 0) == 0) return;
  long dir = sys4(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dir < 0) return;
  for (;;) {
    long got = sys3(SYS_getdents64, dir, dirents, DIRENT_BUF_BYTES);
    if (got <= 0) break;
    for (long off = 0; off < got;) {
      /* struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[] */
      unsigned short reclen;
      memcpy(&reclen, dirents + off + 16, sizeof reclen);
      const char *name = dirents + off + 19;
      off += reclen;
      if (name[0] < '0' || name[0] > '9') continue;
      int fd = 0;
      for (const char *d = name; *d >= '0' && *d <= '9'; d++) fd = fd * 10 + (*d - '0');
      int kept = fd < 3 || fd == (int)dir;
      for (int k = 0; k < count; k++) kept |= keep[k] == fd;
      if (!kept) sys1(SYS_close, fd);
    }
  }
  sys1(SYS_close, dir);
}

static size_t raw_strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

/* Reports why the command could not start on its stderr, then exits 127 as a shell would.
 * strerrordesc_np reads a constant table (no locale, no allocation), unlike strerror. */
static void child_fail(const char *what, const char *subject, long error) {
  char number[24], *p = number + sizeof number;
  *--p = '\0';
  unsigned long e = (unsigned long)(error < 0 ? -error : error);
  do *--p = (char)('0' + e % 10);
  while ((e /= 10) > 0);
  const char *text = NULL;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  text = strerrordesc_np((int)-error);
#endif
  const char *parts[] = {"airlock: ", what, subject, ": ", text ? text : "error ", text ? "" : p, "\n"};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) sys3(SYS_write, 2, parts[i], raw_strlen(parts[i]));
  sys1(SYS_exit_group, 127);
}

/* dup2 without the libc wrapper (aarch64 has only dup3, which refuses old == new). A pipe end that
 * already sits on its target keeps O_CLOEXEC otherwise, and would be closed by the execve. */
static long raw_dup2(int from, int to) {
  if (from == to) return sys3(SYS_fcntl, to, F_SETFD, 0);
  return sys3(SYS_dup3, from, to, 0);
}

/* The kernel's struct sigaction (x86_64 and aarch64 alike: both have sa_restorer). */
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  unsigned long mask;
};

/* The command child, on its own stack, while the keeper waits for its execve (CLONE_VFORK). */
static int command_main(void *arg) {
  const struct launch *l = arg;
  sys0(SYS_setsid);
  if (raw_dup2(l->in_read, 0) < 0 || raw_dup2(l->out_write, 1) < 0 || raw_dup2(l->err_write, 2) < 0)
    sys1(SYS_exit_group, 127);
  /* Dispositions the supervisor changed must not leak into the agent's command: an ignored SIGPIPE
   * survives exec and would turn `yes | head` into an endless loop. */
  struct kernel_sigaction dfl = {.handler = SIG_DFL};
  sys4(SYS_rt_sigaction, SIGPIPE, &dfl, NULL, 8);
  sys4(SYS_rt_sigaction, SIGCHLD, &dfl, NULL, 8);
  sys4(SYS_rt_sigprocmask, SIG_SETMASK, &original_mask, NULL, 8);
  raw_close_all_except(NULL, 0, l->child_dirents);
  long r = sys1(SYS_chdir, l->cwd);
  if (r != 0) child_fail("cannot enter working directory ", l->cwd, r);
  r = sys3(SYS_execve, l->exe, l->argv, l->envp);
  child_fail("cannot run ", l->exe, r);
  return 127;
}

static int keeper_main(void *arg) {
  const struct launch *l = arg;
  sys2(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1);
  /* Drop the host channel and the pipes of other commands inherited from the supervisor: holding
   * another command's stdin write end would keep that command from ever seeing end of input. */
  sys1(SYS_close, 0);
  sys1(SYS_close, 1);
  int keep[] = {l->status_write, l->in_read, l->out_write, l->err_write};
  raw_close_all_except(keep, 4, l->keeper_dirents);
  long child = launch_clone(command_main, l->child_stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)l);
  if (child < 0) {
    /* Reported as a start failure (usually the pids limit), not as an exit status of a command
     * that never ran. */
    int report[2] = {0, (int)-child};
    sys3(SYS_write, l->status_write, report, sizeof report);
    return 0;
  }
  sys1(SYS_close, l->in_read);
  sys1(SYS_close, l->out_write);
  sys1(SYS_close, l->err_write);
  for (;;) {
    int status;
    long pid = sys4(SYS_wait4, -1, &status, 0, NULL);
    if (pid == -EINTR) continue;
    if (pid < 0) break; /* ECHILD: the command and everything it started are gone */
    if (pid == child) {
      int report[2] = {status, 0};
      sys3(SYS_write, l->status_write, report, sizeof report);
      sys1(SYS_close, l->status_write);
    }
  }
  return 0;
}

/* The stacks of command slot `slot`, mapped on first use. Returns NULL (errno set) on failure. */
static char *stacks_for(int slot) {
  if (slot_stacks[slot]) return slot_stacks[slot];
  char *base = mmap(NULL, STACKS_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return NULL;
  /* A stack that overflows faults on its guard page instead of writing over its neighbour. */
  if (mprotect(base, GUARD_BYTES, PROT_NONE) != 0 || mprotect(base + KEEPER_STACK_TOP, GUARD_BYTES, PROT_NONE) != 0) {
    int err = errno;
    munmap(base, STACKS_BYTES);
    errno = err;
    return NULL;
  }
  slot_stacks[slot] = base;
  return base;
}

/* Copies `text` with its NUL to *cursor and moves the cursor past it; returns the copy. */
static char *copy_string(char **cursor, const char *text) {
  size_t n = raw_strlen(text) + 1;
  char *copy = memcpy(*cursor, text, n);
  *cursor += n;
  return copy;
}

/* Copies what the command child needs out of the request frame and the parsed vectors, so that both
 * can be reused at once. Returns NULL (errno set) on failure. */
static struct launch *make_launch(char *stacks, const char *exe, const char *cwd, char **argv, char **envp) {
  size_t argc = 0, envc = 0, text = raw_strlen(exe) + raw_strlen(cwd) + 2;
  for (; argv[argc]; argc++) text += raw_strlen(argv[argc]) + 1;
  for (; envp[envc]; envc++) text += raw_strlen(envp[envc]) + 1;
  struct launch *l = malloc(sizeof(struct launch) + (argc + envc + 2) * sizeof(char *) + text);
  if (!l) return NULL;
  l->child_stack_top = stacks + CHILD_STACK_TOP;
  l->keeper_dirents = stacks + CHILD_STACK_TOP;
  l->child_dirents = l->keeper_dirents + DIRENT_BUF_BYTES;
  l->argv = (char **)(l + 1);
  l->envp = l->argv + argc + 1;
  char *strings = (char *)(l->envp + envc + 1);
  l->exe = copy_string(&strings, exe);
  l->cwd = copy_string(&strings, cwd);
  for (size_t k = 0; k < argc; k++) l->argv[k] = copy_string(&strings, argv[k]);
  l->argv[argc] = NULL;
  for (size_t k = 0; k < envc; k++) l->envp[k] = copy_string(&strings, envp[k]);
  l->envp[envc] = NULL;
  return l;
}

/* EXEC payload: u32 timeoutMs, u32 flags, u32 stdinLen, stdin bytes, then NUL-terminated strings:
 * exe, cwd, then u32 argc + argv strings, u32 envc + env strings. */
static void handle_exec(uint32_t id, unsigned char *p, size_t len) {
  if (find_command(id)) {
    send_error(id, EEXIST, "command id already in use");
    return;
  }
  struct command *c = NULL;
  for (int i = 0; i < MAX_COMMANDS; i++)
    if (!commands[i].used) {
      c = &commands[i];
      break;
    }
  if (!c) {
    send_error(id, EAGAIN, "too many commands are running in this session");
    return;
  }
  if (len < 12) goto malformed;
  uint32_t timeout_ms = get_u32(p), stdin_len = get_u32(p + 8);
  size_t off = 12;
  if (stdin_len > len - off) goto malformed;
  unsigned char *stdin_data = p + off;
  off += stdin_len;
  char *strings[2];
  for (int s = 0; s < 2; s++) {
    char *start = (char *)p + off;
    char *nul = memchr(start, '\0', len - off);
    if (!nul) goto malformed;
    strings[s] = start;
    off = (size_t)(nul - (char *)p) + 1;
  }
  char **vectors[2] = {NULL, NULL};
  for (int v = 0; v < 2; v++) {
    if (len - off < 4) goto malformed_free;
    uint32_t count = get_u32(p + off);
    off += 4;
    if (count > 4096) goto malformed_free;
    vectors[v] = calloc(count + 1, sizeof(char *));
    if (!vectors[v]) goto malformed_free;
    for (uint32_t k = 0; k < count; k++) {
      char *start = (char *)p + off;
      char *nul = memchr(start, '\0', len - off);
      if (!nul) goto malformed_free;
      vectors[v][k] = start;
      off = (size_t)(nul - (char *)p) + 1;
    }
  }
  if (!vectors[0][0]) goto malformed_free;

  int in_pipe[2] = {-1, -1}, out_pipe[2], err_pipe[2], status_pipe[2];
  if (stdin_len > 0) {
    if (pipe2(in_pipe, O_CLOEXEC) != 0) goto fail;
  } else {
    in_pipe[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 || pipe2(status_pipe, O_CLOEXEC) != 0)
    goto fail;

  int slot = (int)(c - commands);
  char *stacks = stacks_for(slot);
  struct launch *launch = stacks ? make_launch(stacks, strings[0], strings[1], vectors[0], vectors[1]) : NULL;
  long keeper = -ENOMEM;
  if (launch) {
    launch->status_write = status_pipe[1];
    launch->in_read = in_pipe[0];
    launch->out_write = out_pipe[1];
    launch->err_write = err_pipe[1];
    /* No CLONE_FILES: the keeper gets its own copy of the fd table, as after fork, and closes the
     * supervisor's fds in it; the supervisor closes the command's ends in its own below. */
    keeper = launch_clone(keeper_main, stacks + KEEPER_STACK_TOP, CLONE_VM | SIGCHLD, launch);
  }
  if (keeper < 0) {
    int err = (int)-keeper;
    free(launch);
    close(in_pipe[0]);
    if (in_pipe[1] >= 0) close(in_pipe[1]);
    close(out_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[0]);
    close(err_pipe[1]);
    close(status_pipe[0]);
    close(status_pipe[1]);
    free(vectors[0]);
    free(vectors[1]);
    send_error(id, err, err == EAGAIN ? "cannot start the command: the session's process limit (pids) is reached"
                                      : "cannot start the command: clone failed");
    return;
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(status_pipe[1]);
  free(vectors[0]);
  free(vectors[1]);
  memset(c, 0, sizeof *c);
  c->used = 1;
  c->id = id;
  c->keeper = (pid_t)keeper;
  c->launch = launch;
  c->out_fd = out_pipe[0];
  c->err_fd = err_pipe[0];
  c->status_fd = status_pipe[0];
  c->in_fd = in_pipe[1];
  fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
  fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
  if (c->in_fd >= 0) {
    fcntl(c->in_fd, F_SETFL, O_NONBLOCK);
    c->stdin_buf = malloc(stdin_len);
    if (c->stdin_buf) memcpy(c->stdin_buf, stdin_data, stdin_len);
    c->stdin_len = c->stdin_buf ? stdin_len : 0;
    if (!c->stdin_buf) close_fd(&c->in_fd);
  }
  c->deadline_ms = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
  unsigned char payload[4];
  put_u32(payload, (uint32_t)keeper);
  send_frame(REP_STARTED, id, payload, sizeof payload);
  return;

fail:
  send_error(id, errno, "cannot create pipes for the command");
  free(vectors[0]);
  free(vectors[1]);
  return;
malformed_free:
  free(vectors[0]);
  free(vectors[1]);
malformed:
  send_error(id, EINVAL, "malformed exec request");
}

static pid_t parent_of(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return -1;
  buf[len] = '\0';
  char *close_paren = strrchr(buf, ')');
  char state;
  long ppid;
  if (!close_paren || sscanf(close_paren + 2, "%c %ld", &state, &ppid) != 2) return -1;
  return (pid_t)ppid;
}

/* A keeper killed from inside the sandbox (a command can signal processes of its own uid) leaves
 * its command's processes hanging off the supervisor, where no timeout or kill can find them.
 * They are killed at once: a command cannot buy itself unbounded run time this way. */
static int kill_strays(void) {
  static pid_t children[4096];
  pid_t self = getpid();
  /* Scanned again after each round: a process whose parent exits while we kill (a subshell that
   * had just backgrounded it) is re-parented to us only then, after the first scan. */
  for (int pass = 0; pass < KILL_PASSES; pass++) {
    int n = collect_descendants(self, children, 4096), killed = 0;
    for (int k = 0; k < n; k++) {
      if (parent_of(children[k]) != self) continue;
      int is_keeper = 0;
      for (int j = 0; j < MAX_COMMANDS; j++)
        if (commands[j].used && commands[j].keeper == children[k]) is_keeper = 1;
      if (is_keeper) continue;
      kill_tree(children[k]);
      kill(children[k], SIGKILL);
      killed++;
    }
    if (killed == 0) return 1;
    struct timespec pause = {0, 200000};
    nanosleep(&pause, NULL);
  }
  return 0; /* gave up: something may still be running */
}

static void on_keeper_exit(pid_t pid, int status) {
  for (int i = 0; i < MAX_COMMANDS; i++) {
    struct command *c = &commands[i];
    if (!c->used || c->keeper != pid) continue;
    c->keeper = 0;
    /* A keeper only exits normally once its whole tree is gone; any other end means it was killed. */
    int tree_gone = 1;
    if (!WIFEXITED(status)) {
      tree_gone = kill_strays();
      if (!c->reported) {
        c->keeper_lost = 1;
        report_exit(c);
      }
    }
    /* A killed keeper may leave its command child between clone and execve, still running on the
     * slot's stacks and reading its struct launch: both are reused only once kill_strays saw every
     * stray dead. If it gave up (a fork bomb outran it), they are left alone for good rather than
     * risk handing them to the next command, and the slot maps new stacks. */
    if (tree_gone) {
      free(c->launch);
    } else {
      slot_stacks[i] = NULL;
    }
    c->launch = NULL;
    release_if_done(c);
    return;
  }
}

static void reap_children(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    on_keeper_exit(pid, status);
  }
}

static void handle_kill(uint32_t id) {
  struct command *c = find_command(id);
  if (!c) {
    send_error(id, ESRCH, "no such command");
    return;
  }
  int first = !c->reported && !c->killed && !c->timed_out;
  if (!c->reported) c->killed = 1;
  if (c->keeper > 0) {
    if (first) kill_tree_stopping_others(c->keeper);
    else kill_tree(c->keeper);
  }
  send_frame(REP_OK, id, NULL, 0);
}

/* ---------- supervisor: files ---------- */

/* Resolve `path` (absolute) without following any symlink, so a link the agent planted cannot
 * redirect a host-initiated copy. Returns an O_PATH fd of the parent directory and sets *leaf. */
static int open_parent_nofollow(char *path, char **leaf, int create_dirs) {
  if (path[0] != '/') {
    errno = EINVAL;
    return -1;
  }
  int dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return -1;
  char *cursor = path + 1;
  int depth = 0;
  for (;;) {
    char *slash = strchr(cursor, '/');
    if (!slash) {
      *leaf = cursor;
      if (*cursor == '\0' || strcmp(cursor, ".") == 0 || strcmp(cursor, "..") == 0) {
        close(dirfd);
        errno = EINVAL;
        return -1;
      }
      return dirfd;
    }
    *slash = '\0';
    if (*cursor == '\0' || strcmp(cursor, ".") == 0 || strcmp(cursor, "..") == 0 || ++depth > MAX_PATH_DEPTH) {
      close(dirfd);
      errno = EINVAL;
      return -1;
    }
    int next = openat(dirfd, cursor, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create_dirs) {
      if (mkdirat(dirfd, cursor, 0755) != 0 && errno != EEXIST) {
        close(dirfd);
        return -1;
      }
      next = openat(dirfd, cursor, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    close(dirfd);
    if (next < 0) return -1;
    dirfd = next;
    *slash = '/';
    cursor = slash + 1;
  }
}

static void file_error(uint32_t id, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(errno));
  send_error(id, errno, message);
}

/* READ_FILE payload: u64 maxBytes, path\0 */
static void handle_read_file(uint32_t id, unsigned char *p, size_t len) {
  if (len < 9 || p[len - 1] != '\0') {
    send_error(id, EINVAL, "malformed read request");
    return;
  }
  uint64_t max_bytes = get_u64(p);
  char *leaf;
  int dirfd = open_parent_nofollow((char *)p + 8, &leaf, 0);
  if (dirfd < 0) return file_error(id, "cannot open");
  /* O_NONBLOCK so a FIFO planted by the agent cannot hang the supervisor; regular files only. */
  int fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  close(dirfd);
  if (fd < 0) return file_error(id, "cannot open");
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    return file_error(id, "not a regular file");
  }
  if ((uint64_t)st.st_size > max_bytes) {
    close(fd);
    errno = EFBIG;
    return file_error(id, "file is larger than the limit");
  }
  unsigned char buf[READ_CHUNK];
  uint64_t total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return file_error(id, "read failed");
    }
    if (n == 0) break;
    total += (uint64_t)n;
    if (total > max_bytes) {
      close(fd);
      errno = EFBIG;
      return file_error(id, "file is larger than the limit");
    }
    send_frame(REP_DATA, id, buf, (size_t)n);
  }
  close(fd);
  unsigned char payload[8];
  put_u64(payload, total);
  send_frame(REP_OK, id, payload, sizeof payload);
}

/* WRITE_FILE payload: u32 mode, u32 flags (1 = create parent dirs, 2 = append: a later chunk of a
 * large file), u32 pathLen, path, data */
static void handle_write_file(uint32_t id, unsigned char *p, size_t len) {
  if (len < 12) {
    send_error(id, EINVAL, "malformed write request");
    return;
  }
  uint32_t mode = get_u32(p) & 0777, flags = get_u32(p + 4), path_len = get_u32(p + 8);
  if (path_len == 0 || path_len > len - 12 || path_len > PATH_MAX) {
    send_error(id, EINVAL, "malformed write request");
    return;
  }
  char path[PATH_MAX + 1];
  memcpy(path, p + 12, path_len);
  path[path_len] = '\0';
  if (strlen(path) != path_len) {
    send_error(id, EINVAL, "path contains NUL");
    return;
  }
  unsigned char *data = p + 12 + path_len;
  size_t data_len = len - 12 - path_len;
  char *leaf;
  int dirfd = open_parent_nofollow(path, &leaf, flags & 1);
  if (dirfd < 0) return file_error(id, "cannot open parent directory");
  int fd = openat(dirfd, leaf, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
  close(dirfd);
  if (fd < 0) return file_error(id, "cannot open");
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    errno = EINVAL;
    return file_error(id, "not a regular file");
  }
  if (!(flags & 2) && ftruncate(fd, 0) != 0) {
    close(fd);
    return file_error(id, "truncate failed");
  }
  if ((flags & 2) && lseek(fd, 0, SEEK_END) < 0) {
    close(fd);
    return file_error(id, "seek failed");
  }
  if (write_all(fd, data, data_len) != 0) {
    close(fd);
    return file_error(id, "write failed");
  }
  fchmod(fd, mode);
  close(fd);
  send_frame(REP_OK, id, NULL, 0);
}

/* LIST payload: u32 maxEntries, path\0. Entries go out in DATA frames: u8 kind, u64 size, u64 mtimeMs,
 * u16 nameLen, name. More than maxEntries is an E2BIG error, so a directory with millions of files
 * the agent made cannot make the host hold them all. */
static void handle_list(uint32_t id, unsigned char *p, size_t len) {
  if (len < 6 || p[len - 1] != '\0') {
    send_error(id, EINVAL, "malformed list request");
    return;
  }
  uint32_t max_entries = get_u32(p);
  p += 4;
  len -= 4;
  char path[PATH_MAX + 2];
  if (len > PATH_MAX) {
    send_error(id, ENAMETOOLONG, "path too long");
    return;
  }
  memcpy(path, p, len);
  int fd;
  if (strcmp(path, "/") == 0) {
    fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } else {
    char *leaf;
    int dirfd = open_parent_nofollow(path, &leaf, 0);
    if (dirfd < 0) return file_error(id, "cannot open");
    fd = openat(dirfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(dirfd);
  }
  if (fd < 0) return file_error(id, "cannot open directory");
  DIR *dir = fdopendir(fd);
  if (!dir) {
    close(fd);
    return file_error(id, "cannot open directory");
  }
  unsigned char buf[READ_CHUNK];
  size_t used = 0;
  uint32_t count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    if (++count > max_entries) {
      closedir(dir);
      send_error(id, E2BIG, "the directory has more entries than the listing limit");
      return;
    }
    struct stat st;
    if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    size_t name_len = strlen(entry->d_name);
    if (used + 19 + name_len > sizeof buf) {
      send_frame(REP_DATA, id, buf, used);
      used = 0;
    }
    char kind = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : 'o';
    buf[used] = (unsigned char)kind;
    put_u64(buf + used + 1, (uint64_t)st.st_size);
    put_u64(buf + used + 9, (uint64_t)st.st_mtim.tv_sec * 1000 + (uint64_t)st.st_mtim.tv_nsec / 1000000);
    buf[used + 17] = name_len & 0xff;
    buf[used + 18] = (name_len >> 8) & 0xff;
    memcpy(buf + used + 19, entry->d_name, name_len);
    used += 19 + name_len;
  }
  closedir(dir);
  if (used > 0) send_frame(REP_DATA, id, buf, used);
  send_frame(REP_OK, id, NULL, 0);
}

/* ---------- supervisor: main loop ---------- */

static int supervise_main(void) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  /* Not dumpable: commands run under the same uid, and this keeps them from opening
   * /proc/<supervisor>/fd/N to forge frames on the host channel. */
  prctl(PR_SET_DUMPABLE, 0);
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, &original_mask);
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) die("signalfd");
  fcntl(0, F_SETFD, FD_CLOEXEC);
  fcntl(1, F_SETFD, FD_CLOEXEC);
  for (int i = 0; i < MAX_COMMANDS; i++) commands[i].out_fd = commands[i].err_fd = -1;

  unsigned char version[4];
  put_u32(version, PROTOCOL_VERSION);
  send_frame(REP_READY, 0, version, sizeof version);

  unsigned char *frame = malloc(MAX_FRAME);
  if (!frame) die("malloc");
  struct pollfd fds[2 + MAX_COMMANDS * 4];
  struct command *owners[2 + MAX_COMMANDS * 4];
  int kinds[2 + MAX_COMMANDS * 4];

  for (;;) {
    int n = 0;
    fds[n] = (struct pollfd){.fd = 0, .events = POLLIN};
    owners[n] = NULL;
    kinds[n++] = 0;
    fds[n] = (struct pollfd){.fd = sfd, .events = POLLIN};
    owners[n] = NULL;
    kinds[n++] = 1;
    int64_t now = now_ms(), wait_ms = -1;
    for (int i = 0; i < MAX_COMMANDS; i++) {
      struct command *c = &commands[i];
      if (!c->used) continue;
      if (c->out_fd >= 0) {
        fds[n] = (struct pollfd){.fd = c->out_fd, .events = POLLIN};
        owners[n] = c;
        kinds[n++] = 2;
      }
      if (c->err_fd >= 0) {
        fds[n] = (struct pollfd){.fd = c->err_fd, .events = POLLIN};
        owners[n] = c;
        kinds[n++] = 3;
      }
      if (c->status_fd >= 0) {
        fds[n] = (struct pollfd){.fd = c->status_fd, .events = POLLIN};
        owners[n] = c;
        kinds[n++] = 4;
      }
      if (c->in_fd >= 0) {
        fds[n] = (struct pollfd){.fd = c->in_fd, .events = POLLOUT};
        owners[n] = c;
        kinds[n++] = 5;
      }
      /* A kill or timeout can land before the keeper has forked the command: nothing to kill yet.
       * Until the command is reported, look again soon and kill whatever has appeared since. */
      if (!c->reported && (c->killed || c->timed_out) && (wait_ms < 0 || wait_ms > 5)) wait_ms = 5;
      if (!c->reported && c->deadline_ms > 0) {
        int64_t left = c->deadline_ms - now;
        if (left < 0) left = 0;
        if (wait_ms < 0 || left < wait_ms) wait_ms = left;
      }
    }
    int ready = poll(fds, (nfds_t)n, (int)wait_ms);
    if (ready < 0 && errno != EINTR) die("poll");

    now = now_ms();
    for (int i = 0; i < MAX_COMMANDS; i++) {
      struct command *c = &commands[i];
      if (c->used && !c->reported && c->deadline_ms > 0 && now >= c->deadline_ms && !c->timed_out) {
        int first = !c->killed;
        c->timed_out = 1;
        if (c->keeper > 0) {
          if (first) kill_tree_stopping_others(c->keeper);
          else kill_tree(c->keeper);
        }
      } else if (c->used && !c->reported && (c->killed || c->timed_out) && c->keeper > 0) {
        kill_tree(c->keeper);
      }
    }
    if (ready <= 0) continue;

    for (int k = 2; k < n; k++) {
      if (!fds[k].revents) continue;
      struct command *c = owners[k];
      if (!c->used) continue;
      switch (kinds[k]) {
        case 2:
        case 3: {
          int *fd = kinds[k] == 2 ? &c->out_fd : &c->err_fd;
          if (*fd != fds[k].fd) break;
          unsigned char buf[READ_CHUNK];
          ssize_t got = read(*fd, buf, sizeof buf);
          if (got > 0) {
            /* After the result went out, later output of background processes is discarded:
             * reading it keeps their writes from blocking or failing with SIGPIPE. */
            if (!c->reported) send_frame(kinds[k] == 2 ? REP_STDOUT : REP_STDERR, c->id, buf, (size_t)got);
          } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
            close_fd(fd);
          }
          break;
        }
        case 4: {
          if (c->status_fd != fds[k].fd) break;
          int report[2];
          if (read_all(c->status_fd, report, sizeof report) == 0) {
            c->have_status = report[1] == 0;
            c->status = report[0];
            c->start_errno = report[1];
          } else {
            /* The keeper died before the command ended: see kill_strays. */
            c->keeper_lost = 1;
            kill_strays();
          }
          close_fd(&c->status_fd);
          if (!c->reported) report_exit(c);
          release_if_done(c);
          break;
        }
        case 5: {
          if (c->in_fd != fds[k].fd) break;
          ssize_t put = write(c->in_fd, c->stdin_buf + c->stdin_off, c->stdin_len - c->stdin_off);
          if (put > 0) c->stdin_off += (size_t)put;
          if ((put < 0 && errno != EAGAIN && errno != EINTR) || c->stdin_off >= c->stdin_len) {
            close_fd(&c->in_fd);
            free(c->stdin_buf);
            c->stdin_buf = NULL;
          }
          break;
        }
      }
    }

    if (fds[1].revents) {
      struct signalfd_siginfo info;
      while (read(sfd, &info, sizeof info) == sizeof info) {
      }
      reap_children();
    }

    if (fds[0].revents) {
      unsigned char header[9];
      int r = read_all(0, header, sizeof header);
      if (r != 0) _exit(0); /* host closed the channel: the session is over */
      uint32_t length = get_u32(header);
      if (length < 5 || length - 5 > MAX_FRAME) {
        fprintf(stderr, "airlock-helper: frame too large (%u bytes)\n", length);
        _exit(2);
      }
      size_t payload_len = length - 5;
      uint8_t type = header[4];
      uint32_t id = get_u32(header + 5);
      if (payload_len > 0 && read_all(0, frame, payload_len) != 0) _exit(0);
      switch (type) {
        case REQ_EXEC:
          handle_exec(id, frame, payload_len);
          break;
        case REQ_KILL:
          handle_kill(id);
          break;
        case REQ_READ_FILE:
          handle_read_file(id, frame, payload_len);
          break;
        case REQ_WRITE_FILE:
          handle_write_file(id, frame, payload_len);
          break;
        case REQ_LIST:
          handle_list(id, frame, payload_len);
          break;
        default:
          send_error(id, EINVAL, "unknown request type");
      }
    }
  }
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "launch") == 0) return launch_main(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "supervise") == 0) return supervise_main();
  if (argc >= 2 && strcmp(argv[1], "confine") == 0) return confine_main(argc, argv);
  fprintf(stderr, "usage: airlock-helper launch [--cgroup-procs FILE]... [--uid N --gid N] [--no-membarrier-registration] "
                  "(--instructions FD | -- PROGRAM ARGS...)\n"
                  "       airlock-helper supervise\n"
                  "       airlock-helper confine [--remove PATH]... [--user UID:GID] [--userns] [--seccomp FILE]...\n");
  return 2;
}

/*
 * Security limitations
 * - Keepers, command children before their execve and (as pid 1's child) the supervisor share one
 *   address space. What keeps a command out of it is that it is not dumpable and that the seccomp
 *   filter refuses ptrace and process_vm_writev, the same checks that always guarded the
 *   supervisor; a kernel (or sentry) bug in them now exposes the supervisor through a keeper too.
 * - gVisor lists /proc/<pid>/fd of a non-dumpable process of the same uid. The host channel cannot
 *   be reopened through it (host file descriptors give ENXIO), but the pipes of the session's other
 *   commands can (checked on runsc 20240729): commands of one session are one trust domain.
 * - When kill_strays() gives up on a fork bomb, that command's stacks and arguments stay allocated
 *   for the rest of the session rather than be reused.
 */
