/*
 * airlock-helper relay --idle-ms N --parent PID [--down-bytes N]
 *
 * Host side, started by the egress proxy for one tunnel it has already decided and that carries bulk
 * (a large download or upload passed through unread: TLS end to end, no secrets to swap, no
 * bandwidth limit). The proxy hands over both sockets as fds 3 (the sandbox's side) and 4 (the
 * upstream), and this process moves the bytes between them with splice(2) until both directions
 * have ended, then prints one line on stdout and exits:
 *   {"up":BYTES,"down":BYTES,"end":"closed"|"idle"|"error"|"stopped"}
 * up: sandbox → upstream; down: upstream → sandbox; idle: nothing moved either way for N ms;
 * stopped: SIGTERM (the proxy ended the connection: the session closed, the proxy stopped), so what
 * moved is still reported and counted in the connection's audit event.
 *
 * With --down-bytes N it carries the rest of one plain-HTTP answer instead: exactly N bytes from the
 * upstream to the sandbox, and nothing else. The sandbox's side is neither read (its next request is
 * the proxy's to parse) nor shut (the connection is kept alive): it ends "closed" once N bytes were
 * taken, and "error" if the upstream ended first.
 *
 * Why a process and not the proxy itself: Node copies every byte into its heap and back out, twice
 * per direction, and a bulk tunnel was the proxy's largest cost (and the reason a download from inside
 * a sandbox ran at a fraction of a direct one). splice keeps the bytes in the kernel.
 *
 * What it may do: it parses nothing and opens nothing; the proxy has judged the connection. It dies
 * with the proxy (PR_SET_PDEATHSIG, checked against --parent for the case the proxy died first),
 * takes no new privileges, is not dumpable, gets no environment (the proxy's holds secrets), and run
 * as root it drops to nobody before touching a byte: a kernel bug reached through these sockets
 * lands on an unprivileged uid.
 */
#include "helper.h"
#include <sys/socket.h>

#define RELAY_CLIENT_FD 3
#define RELAY_UPSTREAM_FD 4
#define RELAY_NOBODY 65534

static volatile sig_atomic_t stop_requested;

static void on_stop(int signal_number) {
  (void)signal_number;
  stop_requested = 1;
}

/* SIGTERM stays blocked except inside ppoll, so one that arrives between the check and the wait still
 * wakes the wait instead of being lost until the idle timeout. Returns the mask ppoll waits with. */
static int catch_stop(sigset_t *waiting_mask) {
  struct sigaction action = {.sa_handler = on_stop};
  sigemptyset(&action.sa_mask);
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  if (sigaction(SIGTERM, &action, NULL) != 0 || sigprocmask(SIG_BLOCK, &blocked, waiting_mask) != 0) return -1;
  sigdelset(waiting_mask, SIGTERM);
  return 0;
}

static int parse_positive(const char *text, long max, long *out) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || value < 1 || value > max) return -1;
  *out = value;
  return 0;
}

static int is_socket(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Drops what a relay does not need: no new privileges, and root's uid and groups (nobody's instead). */
static int shed_privileges(void) {
  /* Not dumpable: no process of the uid it runs as (nobody is shared) may read its memory or fds. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return -1;
  if (geteuid() != 0) return 0;
  if (setgroups(0, NULL) != 0 || setresgid(RELAY_NOBODY, RELAY_NOBODY, RELAY_NOBODY) != 0 ||
      setresuid(RELAY_NOBODY, RELAY_NOBODY, RELAY_NOBODY) != 0)
    return -1;
  return 0;
}

static int report(const struct splice_flow *up, const struct splice_flow *down, const char *end) {
  char line[128];
  int n = snprintf(line, sizeof line, "{\"up\":%llu,\"down\":%llu,\"end\":\"%s\"}\n", (unsigned long long)up->moved,
                   (unsigned long long)down->moved, end);
  return write_all(STDOUT_FILENO, line, (size_t)n) == 0 ? 0 : 1;
}

int relay_main(int argc, char **argv) {
  long idle_ms = 0, parent = 0, down_bytes = 0;
  int down_given = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--idle-ms") == 0 && parse_positive(argv[i + 1], INT32_MAX, &idle_ms) == 0) continue;
    if (strcmp(argv[i], "--parent") == 0 && parse_positive(argv[i + 1], INT32_MAX, &parent) == 0) continue;
    if (strcmp(argv[i], "--down-bytes") == 0 && !down_given && parse_positive(argv[i + 1], LONG_MAX, &down_bytes) == 0) {
      down_given = 1;
      continue;
    }
    idle_ms = 0;
    break;
  }
  if (argc != (down_given ? 8 : 6) || idle_ms == 0 || parent == 0) {
    fprintf(stderr, "airlock-helper: relay wants --idle-ms N --parent PID [--down-bytes N], with the two sockets as fds 3 and 4\n");
    return 2;
  }
  /* The proxy owns the tunnel: if it is gone, nobody would account for or stop this one. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != (pid_t)parent) return 3;
  if (!is_socket(RELAY_CLIENT_FD) || !is_socket(RELAY_UPSTREAM_FD)) {
    fprintf(stderr, "airlock-helper: relay: fds 3 and 4 must be sockets\n");
    return 2;
  }
  if (shed_privileges() != 0) {
    fprintf(stderr, "airlock-helper: relay: cannot drop privileges: %s\n", strerror(errno));
    return 3;
  }
  int fds[2] = {RELAY_CLIENT_FD, RELAY_UPSTREAM_FD};
  for (int i = 0; i < 2; i++) {
    int flags = fcntl(fds[i], F_GETFL);
    if (flags < 0 || fcntl(fds[i], F_SETFL, flags | O_NONBLOCK) != 0) return 3;
  }
  struct splice_flow up, down;
  size_t up_size = splice_flow_open(&up, RELAY_PIPE_BYTES);
  size_t down_size = up_size ? splice_flow_open(&down, RELAY_PIPE_BYTES) : 0;
  if (down_size == 0) {
    fprintf(stderr, "airlock-helper: relay: no pipe: %s\n", strerror(errno));
    return 3;
  }
  size_t capacity = up_size < down_size ? up_size : down_size;
  /* A larger send buffer toward the sandbox's bridge: with the default (about 200 KiB) each side wakes
   * the other every few pages, and on a small machine those wake-ups, not copying, bounded a download
   * (measured from inside bwrap: about 1,300 → 1,600 MiB/s). The kernel caps it at net.core.wmem_max;
   * failing to raise it only costs speed. */
  setsockopt(RELAY_CLIENT_FD, SOL_SOCKET, SO_SNDBUF, &(int){RELAY_SEND_BUFFER_BYTES}, sizeof(int));
  if (down_given) {
    /* One answer's body: the sandbox's side is not read (up has ended before it began) and nothing is
     * taken from the upstream past the body (the flow's limit). */
    up.eof = up.shut = 1;
    down.limit = (uint64_t)down_bytes;
  }
  sigset_t waiting_mask;
  if (catch_stop(&waiting_mask) != 0) return 3;
  struct timespec idle = {.tv_sec = idle_ms / 1000, .tv_nsec = (idle_ms % 1000) * 1000000L};
  for (;;) {
    if (stop_requested) return report(&up, &down, "stopped");
    struct pollfd polled[2];
    splice_flow_poll(RELAY_CLIENT_FD, RELAY_UPSTREAM_FD, &up, &down, capacity, &polled[0], &polled[1]);
    int ready = ppoll(polled, 2, &idle, &waiting_mask);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return report(&up, &down, "error");
    if (ready == 0) return report(&up, &down, "idle");
    if ((polled[0].revents | polled[1].revents) & (POLLERR | POLLNVAL)) return report(&up, &down, "error");
    if (splice_flow_pump(RELAY_CLIENT_FD, RELAY_UPSTREAM_FD, &up, capacity) != 0 ||
        splice_flow_pump(RELAY_UPSTREAM_FD, RELAY_CLIENT_FD, &down, capacity) != 0)
      return report(&up, &down, "error");
    if (down_given && down.moved == down.limit) return report(&up, &down, "closed");
    if (down_given && down.eof) return report(&up, &down, "error");
    if (up.shut && down.shut) return report(&up, &down, "closed");
  }
}
