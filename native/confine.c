#include "helper.h"
#include "raw-syscall.h"

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

int confine_main(int argc, char **argv) {
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
