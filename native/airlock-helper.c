/*
 * airlock-helper: the small native pieces of the sandbox drivers.
 *
 *   airlock-helper launch [--cgroup-procs FILE]... [--uid N --gid N] (--instructions FD | -- PROGRAM ARGS...)
 *     Host side. Joins the session's cgroups *before* anything else runs (so every process bwrap
 *     forks is born inside the limits; moving a running tree later would race with its forks),
 *     drops root for an unprivileged host uid (so even a full namespace escape lands as nobody,
 *     not as host root), then execs PROGRAM (bwrap).
 *
 *   airlock-helper supervise
 *     Inside the sandbox. A session sandbox must outlive one command: files persist and background
 *     servers keep running between calls. Spawning bwrap per command cannot give that, and costs
 *     a full namespace setup each time. So bwrap starts this supervisor once; the host sends it
 *     framed requests on stdin and reads framed replies on stdout. A command then costs one fork +
 *     exec inside the namespaces that already exist.
 *
 *     Each command runs under its own "keeper": a forked copy of the supervisor marked as a child
 *     subreaper. Every process the command starts (even after setsid/nohup/double-fork) stays in
 *     the keeper's subtree, because orphans are re-parented to the nearest subreaper. A timeout or
 *     kill therefore finds the whole tree by walking the keeper's descendants, while background
 *     processes of a command that finished normally keep running under their keeper.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
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

static int launch_main(int argc, char **argv) {
  long uid = -1, gid = -1, instructions_fd = -1;
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
     * then exits, which ends the container and every process left in it. */
    pid_t supervisor = fork();
    if (supervisor < 0) die("fork");
    if (supervisor > 0) {
      close(0);
      close(1);
      for (;;) {
        int status;
        pid_t pid = wait(&status);
        if (pid == supervisor) _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        if (pid < 0 && errno != EINTR) _exit(125);
      }
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
                                        : "cannot start the command: fork failed");
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

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static int is_kept(int fd, const int *keep, int count) {
  for (int k = 0; k < count; k++)
    if (keep[k] == fd) return 1;
  return 0;
}

/* Closes every fd from 3 up except `keep`: a leaked fd would hand a command another command's pipes.
 * close_range (Linux 5.9) does it in one call per gap; older kernels walk /proc/self/fd, which lists
 * only open fds, instead of looping to a descriptor limit that may be a million. */
static void close_all_except(const int *keep, int count) {
  int sorted[8];
  int n = count < 8 ? count : 8;
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
    if (sorted[k] > (int)from && syscall(SYS_close_range, from, (unsigned int)sorted[k] - 1, 0) != 0) ok = 0;
    from = (unsigned int)sorted[k] + 1;
  }
  if (ok && syscall(SYS_close_range, from, ~0U, 0) == 0) return;
  DIR *dir = opendir("/proc/self/fd");
  if (!dir) return;
  int self = dirfd(dir);
  struct dirent *entry;
  int fds[4096], found = 0;
  while ((entry = readdir(dir)) != NULL && found < 4096) {
    int fd = atoi(entry->d_name);
    if (fd >= 3 && fd != self && !is_kept(fd, keep, count)) fds[found++] = fd;
  }
  closedir(dir);
  for (int k = 0; k < found; k++) close(fds[k]);
}

/* For the vforked command child: reports why it could not start with plain write(2) calls (no
 * stdio, no allocation: the child shares the keeper's memory until it execs or exits). */
static void child_fail(const char *what, const char *subject, int error) {
  const char *parts[] = {"airlock: ", what, subject, ": ", strerror(error), "\n"};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    ssize_t ignored = write(2, parts[i], strlen(parts[i]));
    (void)ignored;
  }
  _exit(127);
}

static void keeper_main(int status_write, const char *exe, char **argv, char **envp, const char *cwd,
                        int in_read, int out_write, int err_write) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  /* Drop the pipes of other commands inherited from the supervisor: holding another command's
   * stdin write end would keep that command from ever seeing end of input. */
  int keep[] = {status_write, in_read, out_write, err_write};
  close_all_except(keep, 4);
  /* vfork: the keeper only waits while the child sets up and execs, and a fork's copy of the
   * address space is the slowest part of starting a command under gVisor. The child below makes
   * only system calls (no allocation, no stdio buffers) before execve or _exit. */
  pid_t child = vfork();
  if (child < 0) {
    /* Reported as a start failure (usually the pids limit), not as an exit status of a command
     * that never ran. */
    int report[2] = {0, errno};
    write_all(status_write, report, sizeof report);
    _exit(0);
  }
  if (child == 0) {
    setsid();
    dup2(in_read, 0);
    dup2(out_write, 1);
    dup2(err_write, 2);
    /* Dispositions the supervisor changed must not leak into the agent's command: an ignored
     * SIGPIPE survives exec and would turn `yes | head` into an endless loop. */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, &original_mask, NULL);
    close_all_except(NULL, 0);
    if (chdir(cwd) != 0) child_fail("cannot enter working directory ", cwd, errno);
    execve(exe, argv, envp);
    child_fail("cannot run ", exe, errno);
  }
  close(in_read);
  close(out_write);
  close(err_write);
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break; /* ECHILD: the command and everything it started are gone */
    }
    if (pid == child) {
      int report[2] = {status, 0};
      write_all(status_write, report, sizeof report);
      close(status_write);
    }
  }
  _exit(0);
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

  pid_t keeper = fork();
  if (keeper < 0) {
    int err = errno;
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
                                      : "cannot start the command: fork failed");
    return;
  }
  if (keeper == 0) {
    close(0);
    close(out_fd);
    if (in_pipe[1] >= 0) close(in_pipe[1]);
    close(out_pipe[0]);
    close(err_pipe[0]);
    close(status_pipe[0]);
    keeper_main(status_pipe[1], strings[0], vectors[0], vectors[1], strings[1], in_pipe[0], out_pipe[1],
                err_pipe[1]);
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
  c->keeper = keeper;
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
static void kill_strays(void) {
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
    if (killed == 0) return;
    struct timespec pause = {0, 200000};
    nanosleep(&pause, NULL);
  }
}

static void on_keeper_exit(pid_t pid, int status) {
  for (int i = 0; i < MAX_COMMANDS; i++) {
    struct command *c = &commands[i];
    if (!c->used || c->keeper != pid) continue;
    c->keeper = 0;
    /* A keeper only exits normally once its whole tree is gone; any other end means it was killed. */
    if (!WIFEXITED(status)) {
      kill_strays();
      if (!c->reported) {
        c->keeper_lost = 1;
        report_exit(c);
      }
    }
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
  if (!c->reported) c->killed = 1;
  if (c->keeper > 0) kill_tree(c->keeper);
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
        c->timed_out = 1;
        if (c->keeper > 0) kill_tree(c->keeper);
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
  fprintf(stderr, "usage: airlock-helper launch [--cgroup-procs FILE]... [--uid N --gid N] "
                  "(--instructions FD | -- PROGRAM ARGS...)\n"
                  "       airlock-helper supervise\n"
                  "       airlock-helper confine [--remove PATH]... [--user UID:GID] [--userns] [--seccomp FILE]...\n");
  return 2;
}
