#include "helper.h"

/* ---------- supervisor: the command table ---------- */

struct command commands[MAX_COMMANDS];
sigset_t original_mask;

void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}


struct command *find_command(uint32_t id) {
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
      abandon_slot_stacks(i);
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
/* ---------- supervisor: main loop ---------- */

/* Reads one request from the host channel and serves it. `frame` holds MAX_FRAME bytes. */
static void serve_request(unsigned char *frame) {
  unsigned char header[FRAME_HEADER_BYTES];
  if (read_all(0, header, sizeof header) != 0) _exit(0); /* host closed the channel: the session is over */
  struct request_header h;
  if (parse_request_header(header, &h) != 0) {
    fprintf(stderr, "airlock-helper: malformed request frame (length %u)\n", get_u32(header));
    _exit(2);
  }
  if (h.payload_len > 0 && read_all(0, frame, h.payload_len) != 0) _exit(0);
  const char *problem = NULL;
  int err = EINVAL;
  switch (h.type) {
    case REQ_EXEC: {
      struct exec_request r;
      problem = parse_exec(frame, h.payload_len, &r);
      if (!problem) handle_exec(h.id, &r);
      free_exec_request(&r);
      break;
    }
    case REQ_KILL:
      handle_kill(h.id);
      break;
    /* File copies act as the agent: what is copied in is the agent's, and nothing is reached that
     * a command could not reach itself. */
    case REQ_READ_FILE: {
      struct read_file_request r;
      problem = parse_read_file(frame, h.payload_len, &r);
      as_agent();
      if (!problem) handle_read_file(h.id, &r);
      as_supervisor();
      break;
    }
    case REQ_WRITE_FILE: {
      struct write_file_request r;
      problem = parse_write_file(frame, h.payload_len, &r);
      as_agent();
      if (!problem) handle_write_file(h.id, &r);
      as_supervisor();
      break;
    }
    case REQ_LIST: {
      struct list_request r;
      problem = parse_list(frame, h.payload_len, &r, &err);
      as_agent();
      if (!problem) handle_list(h.id, &r);
      as_supervisor();
      break;
    }
    default:
      problem = "unknown request type";
  }
  if (problem) send_error(h.id, err, problem);
}

int supervise_main(const char *egress_bridge) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  /* Not dumpable: no command may open /proc/<supervisor>/fd, mem or syscall (command-identity.c). */
  prctl(PR_SET_DUMPABLE, 0);
  command_ruleset = make_command_ruleset();
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
  /* Before READY, before any command: no command can take the port first, and a bridge that cannot
   * listen fails the sandbox's start with the reason rather than leave a session without its network. */
  if (egress_bridge && bridge_start(egress_bridge) != 0) _exit(125);

  /* READY: u32 version, u32 Landlock ABI (0: none), u32 flags: what keeps commands from the channel
   * here, for the host to report (session_info). */
  unsigned char ready[12];
  put_u32(ready, PROTOCOL_VERSION);
  put_u32(ready + 4, (uint32_t)(command_ruleset >= 0 ? landlock_abi : 0));
  put_u32(ready + 8, (getpid() == 1 ? READY_PID1 : 0) | (agent.uid >= 0 ? READY_SEPARATE_UID : 0) |
                        (egress_bridge ? READY_EGRESS_BRIDGE : 0));
  send_frame(REP_READY, 0, ready, sizeof ready);

  unsigned char *frame = malloc(MAX_FRAME);
  if (!frame) die("malloc");
  /* Commands first (owners and kinds cover them), then the bridge's. */
  struct pollfd fds[2 + MAX_COMMANDS * 4 + 1 + BRIDGE_MAX_CONNS * 2];
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
    int command_fds = n;
    n = bridge_fill_poll(fds, n);
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

    bridge_serve(fds);
    for (int k = 2; k < command_fds; k++) {
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

    if (fds[0].revents) serve_request(frame);
  }
}
