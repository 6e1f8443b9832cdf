/*
 * The egress bridge (supervise mode, `--egress-bridge PORT:PATH`): the sandbox keeps only its own
 * loopback, and the one way out is the control plane's egress proxy, a Unix socket bind-mounted
 * read-only at PATH. The supervisor listens on 127.0.0.1:PORT inside the sandbox's network namespace
 * (the address HTTP_PROXY names) and joins each accepted connection to a fresh connection to PATH,
 * copying bytes both ways. It parses nothing: the proxy judges what goes through.
 *
 * It runs inside the supervisor's poll loop, never blocking it: every socket is non-blocking, each
 * direction holds at most one pipe's worth (a reader that stops reading stops its writer, through TCP
 * or socket backpressure), at most BRIDGE_MAX_CONNS connections are open (more wait in the listen
 * backlog, unaccepted), and any error closes that connection alone.
 *
 * Why splice(2) through a pipe per direction: the bytes move socket → pipe → socket inside the
 * kernel (pages handed on, not copied through this process), and one wake-up moves as much as both
 * sides take, not one buffer. It was the bridge's cost: a 32 KiB copy per poll round held a bulk
 * download to a fraction of a direct one. The pipes are kernel memory charged to the sandbox's
 * memory cgroup; their size is bounded here (BRIDGE_PIPE_BYTES), and the kernel's per-user pipe
 * limit can only make them smaller (F_SETPIPE_SZ then fails and the default size stays).
 *
 * Why the supervisor and not a process of its own: the supervisor is the sandbox's pid 1, not
 * dumpable and out of every command's reach (command-identity.c); a separate bridge process would be
 * one more thing a command of the same uid could kill or trace. Why a bind-mounted socket rather
 * than an inherited fd: a connection must be opened per client, and the mounted directory survives a
 * restart of the proxy (the new socket appears at the same path). A command may connect to PATH
 * itself; it reaches the same proxy, with the same session's rules, and nothing else: only this
 * session's directory is mounted.
 */
#include "helper.h"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

struct bridge_conn {
  int used;
  int client, upstream;
  /* up: client → proxy; down: proxy → client. Both pipes have `capacity` bytes. */
  struct splice_flow up, down;
  size_t capacity;
  /* Where this connection's fds sit in the current poll array (-1: not polled). */
  int client_index, upstream_index;
};

static int listen_fd = -1, listen_index = -1;
static struct sockaddr_un upstream_addr;
static struct bridge_conn conns[BRIDGE_MAX_CONNS];
static int open_conns;

/* "PORT:PATH" → the listener on 127.0.0.1:PORT and the proxy socket's address; NULL or the problem. */
const char *parse_bridge_spec(const char *spec, uint16_t *port, struct sockaddr_un *addr) {
  char *end;
  errno = 0;
  long value = strtol(spec, &end, 10);
  if (end == spec || *end != ':' || errno != 0 || value < 1 || value > 65535)
    return "--egress-bridge wants PORT:PATH, with a port from 1 to 65535";
  const char *path = end + 1;
  size_t len = strlen(path);
  if (path[0] != '/' || len >= sizeof addr->sun_path)
    return "--egress-bridge wants an absolute socket path of at most 107 bytes";
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  memcpy(addr->sun_path, path, len + 1);
  *port = (uint16_t)value;
  return NULL;
}

int bridge_start(const char *spec) {
  uint16_t port;
  const char *problem = parse_bridge_spec(spec, &port, &upstream_addr);
  if (problem) {
    fprintf(stderr, "airlock-helper: %s (got %s)\n", problem, spec);
    return -1;
  }
  listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd < 0) {
    fprintf(stderr, "airlock-helper: egress bridge: socket: %s\n", strerror(errno));
    return -1;
  }
  /* Loopback only: the sandbox's own; there is no other interface, and there must never be a
   * listener that something outside could reach. No SO_REUSEPORT: no command can bind beside it. */
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listen_fd, BRIDGE_MAX_CONNS) != 0) {
    fprintf(stderr, "airlock-helper: egress bridge: cannot listen on 127.0.0.1:%u: %s\n", port, strerror(errno));
    close_fd(&listen_fd);
    return -1;
  }
  return 0;
}

static void close_conn(struct bridge_conn *c) {
  close_fd(&c->client);
  close_fd(&c->upstream);
  splice_flow_close(&c->up);
  splice_flow_close(&c->down);
  c->used = 0;
  open_conns--;
}

static struct bridge_conn *free_slot(void) {
  for (int i = 0; i < BRIDGE_MAX_CONNS; i++)
    if (!conns[i].used) return &conns[i];
  return NULL;
}

/* Accepts what waits while there is room; each gets its own connection to the proxy. */
static void accept_clients(void) {
  while (open_conns < BRIDGE_MAX_CONNS) {
    int client = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) return; /* EAGAIN, or a transient error (EMFILE): the next round tries again */
    struct bridge_conn *c = free_slot();
    /* Every fd -1 until made: a failure below closes only what exists (never fd 0, the channel). */
    struct splice_flow none = {.pipe_r = -1, .pipe_w = -1};
    *c = (struct bridge_conn){.client = client, .upstream = -1, .up = none, .down = none, .client_index = -1,
                              .upstream_index = -1};
    size_t up = splice_flow_open(&c->up, BRIDGE_PIPE_BYTES), down = up ? splice_flow_open(&c->down, BRIDGE_PIPE_BYTES) : 0;
    c->upstream = down ? socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
    /* A Unix connect completes at once or fails (EAGAIN: the proxy's backlog is full; ENOENT or
     * ECONNREFUSED: it is restarting). The client then sees its connection closed and may retry.
     * So does a client that came while pipes or fds ran out. */
    if (c->upstream < 0 || connect(c->upstream, (struct sockaddr *)&upstream_addr, sizeof upstream_addr) != 0) {
      close_fd(&c->client);
      close_fd(&c->upstream);
      splice_flow_close(&c->up);
      splice_flow_close(&c->down);
      continue;
    }
    c->capacity = up < down ? up : down;
    int one = 1;
    /* The bridge passes on what it reads at once; Nagle would only hold small replies back. */
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->used = 1;
    open_conns++;
  }
}

int bridge_fill_poll(struct pollfd *fds, int n) {
  listen_index = -1;
  if (listen_fd < 0) return n;
  /* At the limit the listener is not polled: further clients wait in the backlog. */
  if (open_conns < BRIDGE_MAX_CONNS) {
    listen_index = n;
    fds[n++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
  }
  for (int i = 0; i < BRIDGE_MAX_CONNS; i++) {
    struct bridge_conn *c = &conns[i];
    c->client_index = c->upstream_index = -1;
    if (!c->used) continue;
    c->client_index = n;
    c->upstream_index = n + 1;
    splice_flow_poll(c->client, c->upstream, &c->up, &c->down, c->capacity, &fds[n], &fds[n + 1]);
    n += 2;
  }
  return n;
}

void bridge_serve(const struct pollfd *fds) {
  if (listen_fd < 0) return;
  if (listen_index >= 0 && (fds[listen_index].revents & POLLIN)) accept_clients();
  for (int i = 0; i < BRIDGE_MAX_CONNS; i++) {
    struct bridge_conn *c = &conns[i];
    if (!c->used || c->client_index < 0) continue;
    short client = fds[c->client_index].revents, upstream = fds[c->upstream_index].revents;
    if (!client && !upstream) continue;
    /* An error on either side ends the connection; a hang-up is read as end of input below. */
    if ((client | upstream) & (POLLERR | POLLNVAL) || splice_flow_pump(c->client, c->upstream, &c->up, c->capacity) != 0 ||
        splice_flow_pump(c->upstream, c->client, &c->down, c->capacity) != 0 || (c->up.shut && c->down.shut)) {
      close_conn(c);
    }
  }
}
