#include "helper.h"
#include "raw-syscall.h"
#include <sys/ioctl.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

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
 * keeper is not either), each command runs in a Landlock domain of its own where the kernel has
 * Landlock, and the seccomp filter refuses ptrace and process_vm_writev: a command cannot reach into
 * the keeper's memory any more than into the supervisor's (command-identity.c). Where commands share
 * the keepers' uid they can signal a keeper; one killed that way is handled by kill_strays.
 */

#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

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
  /* The three are a terminal's slave side: the command makes it its controlling terminal. */
  int pty;
  /* Landlock ruleset to restrict the command with (-1: none); the agent's ids (-1: keep ours). */
  int ruleset_fd, uid, gid;
  const char *exe, *cwd;
  char **argv, **envp;
  char *child_stack_top;
  char *keeper_dirents, *child_dirents;
};

static char *slot_stacks[MAX_COMMANDS];
int command_ruleset = -1;

void abandon_slot_stacks(int slot) { slot_stacks[slot] = NULL; }

/* Closes every fd from 3 up except `keep`: a leaked fd would hand a command another command's pipes.
 * close_range (Linux 5.9; gVisor) does it in one call per gap. Its last fd is INT_MAX, not ~0U:
 * Linux clamps any value, but gVisor refuses one above INT_MAX with EINVAL. Older kernels walk
 * /proc/self/fd, which lists only open fds, instead of looping to a limit that may be a million. */
#define MAX_KEPT_FDS 5

static void raw_close_all_except(const int *keep, int count, char *dirents) {
  int sorted[MAX_KEPT_FDS];
  int n = count < MAX_KEPT_FDS ? count : MAX_KEPT_FDS;
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
  /* A new session (setsid above) with the terminal as its controlling one: ^C reaches the
   * foreground job, and the shell's job control works, as at a real terminal. */
  if (l->pty && sys3(SYS_ioctl, 0, TIOCSCTTY, 0) != 0) sys1(SYS_exit_group, 127);
  /* Dispositions the supervisor changed must not leak into the agent's command: an ignored SIGPIPE
   * survives exec and would turn `yes | head` into an endless loop. */
  struct kernel_sigaction dfl = {.handler = SIG_DFL};
  sys4(SYS_rt_sigaction, SIGPIPE, &dfl, NULL, 8);
  sys4(SYS_rt_sigaction, SIGCHLD, &dfl, NULL, 8);
  sys4(SYS_rt_sigprocmask, SIG_SETMASK, &original_mask, NULL, 8);
  /* A domain of its own (see command-identity.c): fails closed, the command does not run without it. */
  if (l->ruleset_fd >= 0) {
    long r = sys2(SYS_landlock_restrict_self, l->ruleset_fd, 0);
    if (r != 0) child_fail("cannot confine the command", "", r);
  }
  if (l->uid >= 0) {
    /* The supervisor's capabilities stay behind: the bounding set first (that needs CAP_SETPCAP),
     * then the ids; with every uid non-zero the kernel clears the permitted and effective sets. */
    for (long cap = 0; cap <= 63; cap++) {
      long present = sys2(SYS_prctl, PR_CAPBSET_READ, cap);
      if (present < 0) break; /* past the kernel's last capability */
      long r = present == 1 ? sys2(SYS_prctl, PR_CAPBSET_DROP, cap) : 0;
      if (r != 0) child_fail("cannot drop capabilities", "", r);
    }
    long r = sys3(SYS_setresgid, l->gid, l->gid, l->gid);
    if (r == 0) r = sys3(SYS_setresuid, l->uid, l->uid, l->uid);
    if (r != 0) child_fail("cannot switch to the agent's user", "", r);
  }
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
  /* The ruleset too: the command child restricts itself with it (-1 when there is none). */
  int keep[] = {l->status_write, l->in_read, l->out_write, l->err_write, l->ruleset_fd};
  raw_close_all_except(keep, l->ruleset_fd >= 0 ? 5 : 4, l->keeper_dirents);
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

/* A pseudo-terminal made inside the sandbox (its own devpts), as the agent, so the command owns its
 * side as it owns its pipes. The slave is opened from the master (TIOCGPTPEER) rather than by its
 * /dev/pts path, where the kernel allows it: no path is looked up that a command could have
 * replaced. *slaves gets three descriptors of the slave, one per standard stream. */
static int open_pty(const struct exec_request *r, int *master, int slaves[3]) {
  *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*master < 0) return -1;
  int slave = -1;
  if (unlockpt(*master) == 0) {
    slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) {
      char name[64];
      if (ptsname_r(*master, name, sizeof name) == 0) slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
    }
  }
  struct winsize size = {.ws_row = r->rows, .ws_col = r->cols};
  if (slave < 0 || ioctl(*master, TIOCSWINSZ, &size) != 0) {
    int err = errno;
    if (slave >= 0) close(slave);
    close_fd(master);
    errno = err;
    return -1;
  }
  slaves[0] = slave;
  slaves[1] = fcntl(slave, F_DUPFD_CLOEXEC, 0);
  slaves[2] = fcntl(slave, F_DUPFD_CLOEXEC, 0);
  if (slaves[1] < 0 || slaves[2] < 0) {
    int err = errno;
    for (int k = 0; k < 3; k++) close_fd(&slaves[k]);
    close_fd(master);
    errno = err;
    return -1;
  }
  return 0;
}

static void close_pipes(int **pipes, int count) {
  for (int k = 0; k < count; k++) {
    close_fd(&pipes[k][0]);
    close_fd(&pipes[k][1]);
  }
}

void handle_exec(uint32_t id, const struct exec_request *r) {
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

  int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, status_pipe[2] = {-1, -1};
  int *pipes[] = {in_pipe, out_pipe, err_pipe, status_pipe};
  /* The command's own pipes are the agent's, so it can reopen them (/dev/stdout); the exit-status
   * pipe is the supervisor's, so no command can reopen it to forge an exit (command-identity.c). */
  int pty = (r->flags & EXEC_PTY) != 0;
  int stream = pty || (r->flags & EXEC_STDIN_STREAM) != 0;
  as_agent();
  int made;
  if (pty) {
    int master, slaves[3];
    made = open_pty(r, &master, slaves) == 0;
    if (made) {
      /* The master reads the terminal's output and takes its input; there is no separate stderr. */
      in_pipe[0] = slaves[0];
      out_pipe[1] = slaves[1];
      err_pipe[1] = slaves[2];
      out_pipe[0] = master;
      in_pipe[1] = fcntl(master, F_DUPFD_CLOEXEC, 0);
      made = in_pipe[1] >= 0;
    }
  } else {
    made = r->stdin_len > 0 || stream ? pipe2(in_pipe, O_CLOEXEC) == 0
                                      : (in_pipe[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;
    for (int k = 1; k < 3 && made; k++) made = pipe2(pipes[k], O_CLOEXEC) == 0;
  }
  as_supervisor();
  if (made) made = pipe2(status_pipe, O_CLOEXEC) == 0;
  if (!made) {
    int err = errno;
    close_pipes(pipes, 4);
    send_error(id, err, "cannot create pipes for the command");
    return;
  }

  int slot = (int)(c - commands);
  char *stacks = stacks_for(slot);
  struct launch *launch = stacks ? make_launch(stacks, r->exe, r->cwd, r->argv, r->envp) : NULL;
  long keeper = -ENOMEM;
  if (launch) {
    launch->status_write = status_pipe[1];
    launch->in_read = in_pipe[0];
    launch->out_write = out_pipe[1];
    launch->err_write = err_pipe[1];
    launch->pty = pty;
    launch->ruleset_fd = command_ruleset;
    launch->uid = agent.uid;
    launch->gid = agent.gid;
    /* No CLONE_FILES: the keeper gets its own copy of the fd table, as after fork, and closes the
     * supervisor's fds in it; the supervisor closes the command's ends in its own below. */
    keeper = launch_clone(keeper_main, stacks + KEEPER_STACK_TOP, CLONE_VM | SIGCHLD, launch);
  }
  if (keeper < 0) {
    int err = (int)-keeper;
    free(launch);
    close_pipes(pipes, 4);
    send_error(id, err, err == EAGAIN ? "cannot start the command: the session's process limit (pids) is reached"
                                      : "cannot start the command: clone failed");
    return;
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(status_pipe[1]);
  memset(c, 0, sizeof *c);
  c->used = 1;
  c->id = id;
  c->keeper = (pid_t)keeper;
  c->launch = launch;
  c->out_fd = out_pipe[0];
  c->err_fd = err_pipe[0];
  c->status_fd = status_pipe[0];
  c->in_fd = in_pipe[1];
  c->pty = pty;
  c->stdin_stream = stream;
  fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
  if (c->err_fd >= 0) fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
  if (c->in_fd >= 0) {
    /* On a terminal in_fd shares the master's open file: O_NONBLOCK is set on both at once. */
    fcntl(c->in_fd, F_SETFL, O_NONBLOCK);
    if (r->stdin_len > 0) {
      c->stdin_buf = malloc(r->stdin_len);
      if (c->stdin_buf) memcpy(c->stdin_buf, r->stdin_data, r->stdin_len);
      c->stdin_len = c->stdin_buf ? r->stdin_len : 0;
      if (!c->stdin_buf && !stream) close_fd(&c->in_fd);
    } else if (!stream) {
      close_fd(&c->in_fd);
    }
  }
  c->deadline_ms = r->timeout_ms > 0 ? now_ms() + r->timeout_ms : 0;
  unsigned char payload[4];
  put_u32(payload, (uint32_t)keeper);
  send_frame(REP_STARTED, id, payload, sizeof payload);
}
