/*
 * The egress bridge (supervise mode, `--egress-bridge PORT:PATH`): the sandbox keeps only its own
 * loopback, and the one way out is the control plane's egress proxy, a Unix socket bind-mounted
 * read-only at PATH. The supervisor listens on 127.0.0.1:PORT inside the sandbox's network namespace
 * (the address HTTP_PROXY names) and joins each accepted connection to a fresh connection to PATH,
 * copying bytes both ways. It parses nothing: the proxy judges what goes through.
 *
 * It runs inside the supervisor's poll loop, never blocking it: every socket is non-blocking, each
 * direction holds at most one buffer (a reader that stops reading stops its writer, through TCP or
 * socket backpressure), at most BRIDGE_MAX_CONNS connections are open (more wait in the listen
 * backlog, unaccepted), and any error closes that connection alone.
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
  /* Each direction: bytes read from one side not yet written to the other. */
  unsigned char *up_buf, *down_buf;
  size_t up_len, up_off, down_len, down_off;
  /* A side reported end of input; its peer's write side was shut once the buffer drained. */
  int client_eof, upstream_eof, up_shut, down_shut;
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
  free(c->up_buf);
  c->up_buf = c->down_buf = NULL;
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
    int upstream = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* One allocation for both directions; freed with the connection. */
    unsigned char *buffers = upstream >= 0 ? malloc(2 * BRIDGE_BUFFER_BYTES) : NULL;
    /* A Unix connect completes at once or fails (EAGAIN: the proxy's backlog is full; ENOENT or
     * ECONNREFUSED: it is restarting). The client then sees its connection closed and may retry. */
    if (!buffers || connect(upstream, (struct sockaddr *)&upstream_addr, sizeof upstream_addr) != 0) {
      free(buffers);
      if (upstream >= 0) close(upstream);
      close(client);
      continue;
    }
    int one = 1;
    /* The bridge writes whole reads at once; Nagle would only hold small replies back. */
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct bridge_conn *c = free_slot();
    *c = (struct bridge_conn){.used = 1,
                              .client = client, .upstream = upstream, .up_buf = buffers,
                              .down_buf = buffers + BRIDGE_BUFFER_BYTES, .client_index = -1,
                              .upstream_index = -1};
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
    short client_events = 0, upstream_events = 0;
    if (!c->client_eof && c->up_len == 0) client_events |= POLLIN;
    if (c->down_len > c->down_off) client_events |= POLLOUT;
    if (!c->upstream_eof && c->down_len == 0) upstream_events |= POLLIN;
    if (c->up_len > c->up_off) upstream_events |= POLLOUT;
    /* A side with nothing to do is left out (a negative fd): poll would report a peer that hung up
     * on every round, and the loop would spin. Its error shows at the next read or write instead. */
    c->client_index = n;
    fds[n++] = (struct pollfd){.fd = client_events ? c->client : -1, .events = client_events};
    c->upstream_index = n;
    fds[n++] = (struct pollfd){.fd = upstream_events ? c->upstream : -1, .events = upstream_events};
  }
  return n;
}

/* Moves what is buffered for `to`; -1 when the connection must close. */
static int flush(int to, unsigned char *buf, size_t *len, size_t *off) {
  while (*off < *len) {
    ssize_t put = send(to, buf + *off, *len - *off, MSG_NOSIGNAL);
    if (put > 0) {
      *off += (size_t)put;
      continue;
    }
    if (put < 0 && errno == EINTR) continue;
    if (put < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;
  }
  *len = *off = 0;
  return 0;
}

/* Reads one buffer from `from` when its buffer is empty; -1 when the connection must close. */
static int fill(int from, unsigned char *buf, size_t *len, int *eof) {
  if (*eof || *len > 0) return 0;
  ssize_t got = recv(from, buf, BRIDGE_BUFFER_BYTES, 0);
  if (got > 0) *len = (size_t)got;
  else if (got == 0) *eof = 1;
  else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
  return 0;
}

/* One direction: read, write at once (most writes complete), and pass an end of input on once the
 * buffer is empty. Half-closed streams stay open the other way (a request sent, its answer coming). */
static int pump(int from, int to, unsigned char *buf, size_t *len, size_t *off, int *eof, int *shut) {
  if (fill(from, buf, len, eof) != 0) return -1;
  if (flush(to, buf, len, off) != 0) return -1;
  if (*eof && *len == 0 && !*shut) {
    shutdown(to, SHUT_WR);
    *shut = 1;
  }
  return 0;
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
    if ((client | upstream) & (POLLERR | POLLNVAL) ||
        pump(c->client, c->upstream, c->up_buf, &c->up_len, &c->up_off, &c->client_eof, &c->up_shut) != 0 ||
        pump(c->upstream, c->client, c->down_buf, &c->down_len, &c->down_off, &c->upstream_eof, &c->down_shut) !=
            0 ||
        (c->up_shut && c->down_shut)) {
      close_conn(c);
    }
  }
}
