/*
 * One direction of a byte relay between two non-blocking sockets: bytes read from one side sit in
 * a pipe until the other side takes them, moved with splice(2) so they stay in the kernel (pages
 * handed on, not copied through this process). Used by the egress bridge inside a sandbox
 * (bridge.c) and by the host-side relay that carries a bulk tunnel for the egress proxy (relay.c).
 * It parses nothing.
 */
#include "helper.h"
#include <sys/socket.h>

/* A pipe of at most `bytes`; returns its capacity, 0 when none could be made. */
size_t splice_flow_open(struct splice_flow *f, size_t bytes) {
  int ends[2];
  *f = (struct splice_flow){.pipe_r = -1, .pipe_w = -1};
  if (pipe2(ends, O_NONBLOCK | O_CLOEXEC) != 0) return 0;
  f->pipe_r = ends[0];
  f->pipe_w = ends[1];
  /* Past the user's pipe allowance the kernel refuses a larger size: the default one still works. */
  fcntl(f->pipe_w, F_SETPIPE_SZ, (int)bytes);
  int size = fcntl(f->pipe_w, F_GETPIPE_SZ);
  if (size <= 0) {
    splice_flow_close(f);
    return 0;
  }
  return (size_t)size < bytes ? (size_t)size : bytes;
}

void splice_flow_close(struct splice_flow *f) {
  close_fd(&f->pipe_r);
  close_fd(&f->pipe_w);
}

/* The poll entries of a relay's two sides. A side is read while its pipe has room, so the source
 * refills it while the destination drains it (waiting for an empty pipe first left both ends idle in
 * turn, and a download from inside a sandbox ran at well under half of a direct one). A pipe can be
 * full before `capacity` bytes (spliced pages may be partly used): a read that took nothing while
 * bytes were queued marks the flow stalled, and its source is not polled until the destination took
 * some (the source stays readable, and polling it would spin). A side with nothing to do is left out
 * (a negative fd): poll would report a peer that hung up on every round, and the loop would spin; its
 * error shows at the next splice. */
/* Bytes the source may still be read for now: the pipe's room, within the flow's limit; 0 once it
 * ended or stalled. */
static size_t read_room(const struct splice_flow *f, size_t capacity) {
  if (f->eof || f->stalled || f->queued >= capacity) return 0;
  size_t room = capacity - f->queued;
  if (f->limit != 0 && f->limit - f->moved - f->queued < room) room = (size_t)(f->limit - f->moved - f->queued);
  return room;
}

void splice_flow_poll(int client, int upstream, const struct splice_flow *up, const struct splice_flow *down,
                      size_t capacity, struct pollfd *client_entry, struct pollfd *upstream_entry) {
  short client_events = 0, upstream_events = 0;
  if (read_room(up, capacity) > 0) client_events |= POLLIN;
  if (down->queued > 0) client_events |= POLLOUT;
  if (read_room(down, capacity) > 0) upstream_events |= POLLIN;
  if (up->queued > 0) upstream_events |= POLLOUT;
  *client_entry = (struct pollfd){.fd = client_events ? client : -1, .events = client_events};
  *upstream_entry = (struct pollfd){.fd = upstream_events ? upstream : -1, .events = upstream_events};
}

/* 1 when bytes moved, 0 when the call would block, -1 when the connection must close. */
static int moved(ssize_t n) {
  if (n > 0) return 1;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
  return -1;
}

/* Fill the pipe from `from` and empty it into `to`, until neither side takes more (a few rounds at
 * most, so one busy connection cannot hold a poll loop), then pass an end of input on once the pipe
 * is empty. Half-closed streams stay open the other way (a request sent, its answer coming). */
int splice_flow_pump(int from, int to, struct splice_flow *f, size_t capacity) {
  for (int round = 0; round < SPLICE_FLOW_ROUNDS; round++) {
    int progress = 0;
    size_t room = read_room(f, capacity);
    if (room > 0) {
      ssize_t got = splice(from, NULL, f->pipe_w, NULL, room, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
      if (got == 0) f->eof = 1;
      int r = got == 0 ? 0 : moved(got);
      if (r < 0) return -1;
      if (r > 0) f->queued += (size_t)got;
      /* Nothing taken with bytes queued: the pipe may be full (see splice_flow_poll). */
      else if (f->queued > 0) f->stalled = 1;
      progress |= r;
    }
    if (f->queued > 0) {
      ssize_t put = splice(f->pipe_r, NULL, to, NULL, f->queued, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
      /* 0 from a pipe that holds bytes cannot happen; read it as a broken connection, not a spin. */
      int r = moved(put == 0 ? -1 : put);
      if (r < 0) return -1;
      if (r > 0) {
        f->queued -= (size_t)put;
        f->moved += (uint64_t)put;
        f->stalled = 0;
      }
      progress |= r;
    }
    if (!progress) break;
  }
  if (f->eof && f->queued == 0 && !f->shut) {
    shutdown(to, SHUT_WR);
    f->shut = 1;
  }
  return 0;
}
