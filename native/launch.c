#include "helper.h"

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

int launch_main(int argc, char **argv) {
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
    /* The session's process limit, known only now: `--nproc N` before the program. It is set here,
     * before bwrap makes the sandbox's user namespace, because the kernel then holds the whole
     * namespace to it, counted for the session's host uid (which no other session shares). */
    if (program[0] && strcmp(program[0], "--nproc") == 0 && program[1]) {
      char *end;
      long nproc = strtol(program[1], &end, 10);
      struct rlimit limit = {.rlim_cur = (rlim_t)nproc, .rlim_max = (rlim_t)nproc};
      if (*end != '\0' || nproc <= 0 || setrlimit(RLIMIT_NPROC, &limit) != 0) die("setrlimit(RLIMIT_NPROC)");
      program += 2;
    }
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
