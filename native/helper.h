/*
 * Declarations shared by the airlock-helper sources (see main.c for what the helper is).
 *
 * Frames (both directions): u32 length (of everything after it), u8 type, u32 id, payload.
 * All integers little-endian. See src/sandbox/supervisor/protocol.ts for the other side.
 */
#ifndef AIRLOCK_HELPER_H
#define AIRLOCK_HELPER_H

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
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROTOCOL_VERSION 3
/* READY flags */
#define READY_PID1 1u         /* the supervisor is the sandbox's pid 1 */
#define READY_SEPARATE_UID 2u /* commands run as another uid than the supervisor */
#define READY_EGRESS_BRIDGE 4u /* the egress bridge listens (bridge.c) */
/* u32 length, u8 type, u32 id */
#define FRAME_HEADER_BYTES 9
/* At most this many argv or environment strings in one exec request. */
#define MAX_EXEC_STRINGS 4096
/* Requests larger than this are refused: the host chunks file data well below it. */
#define MAX_FRAME (4u * 1024u * 1024u)
#define MAX_COMMANDS 256
/* EXEC flags: keep stdin open for INPUT frames; run on a pseudo-terminal (implies the former). The
 * terminal's size rides in the flags word: columns in bits 8-19, rows in bits 20-31. */
#define EXEC_STDIN_STREAM 1u
#define EXEC_PTY 2u
#define EXEC_KNOWN_FLAGS (EXEC_STDIN_STREAM | EXEC_PTY)
/* A terminal is at most this many columns or rows: enough for any screen, small enough that no
 * program sizing a buffer by it is led astray. */
#define MAX_PTY_DIMENSION 1000
/* One INPUT frame carries at most this much: the host sends the next only once this one is
 * written (its OK says how much was), so a command that never reads holds at most this per command.
 * What people and agents type goes in frames of 64 KiB (router/command-input.ts); a tree copied in
 * streams into the sandbox's tar in frames of up to this size, one round trip per frame. */
#define MAX_INPUT_BYTES (4u * 1024u * 1024u - 64u * 1024u)
#define READ_CHUNK 65536
#define MAX_PATH_DEPTH 64
/* Each pass of the tree kill sends SIGKILL to every live descendant; a fork bomb is bounded by
 * the pids cgroup, so a few hundred passes always converge. */
#define KILL_PASSES 500
/* The egress bridge (bridge.c): connections open at once (more wait in the listen backlog, the same
 * number as the proxy's per-session limit), the pipe per direction of each (at most 32 MiB of kernel
 * memory in all, charged to the sandbox), and how many fill-and-empty rounds one wake-up gives a
 * connection before the loop moves on. */
#define BRIDGE_MAX_CONNS 64
#define BRIDGE_PIPE_BYTES (1024 * 1024)
#define SPLICE_FLOW_ROUNDS 4
/* The host-side relay (relay.c) carries one bulk tunnel: a larger pipe per direction means fewer
 * wake-ups per byte; the proxy bounds how many relays run at once. */
#define RELAY_PIPE_BYTES (1024 * 1024)
/* The send buffer the relay asks for on the sandbox's side of a tunnel (the kernel doubles it, within
 * net.core.wmem_max): at most 32 relays, so a bounded amount of host memory. */
#define RELAY_SEND_BUFFER_BYTES (4 * 1024 * 1024)

enum {
  REQ_EXEC = 1,
  REQ_KILL = 2,
  REQ_READ_FILE = 3,
  REQ_WRITE_FILE = 4,
  REQ_LIST = 5,
  REQ_MKDIR = 6,
  REQ_INPUT = 7,
  REQ_RESIZE = 8,

  REP_READY = 64,
  REP_STARTED = 65,
  REP_STDOUT = 66,
  REP_STDERR = 67,
  REP_EXITED = 68,
  REP_DATA = 69,
  REP_OK = 70,
  REP_ERROR = 71,
};

/* util.c */
void die(const char *what);
uint32_t get_u32(const unsigned char *p);
uint64_t get_u64(const unsigned char *p);
void put_u32(unsigned char *p, uint32_t v);
void put_u64(unsigned char *p, uint64_t v);
int write_all(int fd, const void *buf, size_t len);
int read_all(int fd, void *buf, size_t len);
int64_t now_ms(void);

/* frames.c: replies to the host, and the parsing of its requests (each returns NULL or a problem) */
void send_frame(uint8_t type, uint32_t id, const void *payload, size_t len);
void send_error(uint32_t id, int err, const char *message);

struct request_header {
  uint8_t type;
  uint32_t id;
  size_t payload_len;
};
/* -1 when the length field is impossible (the host never sends one). */
int parse_request_header(const unsigned char *header, struct request_header *out);

/* Strings and vectors point into the request's payload; the vectors are allocated. */
struct exec_request {
  uint32_t timeout_ms;
  uint32_t flags;
  uint16_t cols, rows; /* 0 unless EXEC_PTY */
  const unsigned char *stdin_data;
  size_t stdin_len;
  char *exe, *cwd;
  char **argv, **envp;
};
const char *parse_exec(unsigned char *p, size_t len, struct exec_request *out);
void free_exec_request(struct exec_request *r);

/* INPUT payload: the bytes for the command's stdin (or terminal); empty means end of input. */
const char *parse_input(size_t len);
/* RESIZE payload: u16 cols, u16 rows, each 1..MAX_PTY_DIMENSION. */
struct resize_request {
  uint16_t cols, rows;
};
const char *parse_resize(const unsigned char *p, size_t len, struct resize_request *out);

struct read_file_request {
  uint64_t max_bytes;
  char *path;
};
const char *parse_read_file(unsigned char *p, size_t len, struct read_file_request *out);

struct write_file_request {
  uint32_t mode, flags;
  char path[PATH_MAX + 1];
  const unsigned char *data;
  size_t data_len;
};
const char *parse_write_file(unsigned char *p, size_t len, struct write_file_request *out);

struct list_request {
  uint32_t max_entries;
  char path[PATH_MAX + 2];
};
const char *parse_list(unsigned char *p, size_t len, struct list_request *out, int *err);

/* command-identity.c: who commands run as and what confines each (see there) */
struct command_identity {
  int uid, gid; /* -1: the supervisor's own (bwrap, Docker with runc) */
};
extern struct command_identity agent;
void as_agent(void);
void as_supervisor(void);
extern int landlock_abi;
/* A Landlock ruleset (close-on-exec) each command restricts itself with, or -1 without Landlock. */
int make_command_ruleset(void);

/* The modes (launch.c, confine.c, supervise.c). `egress_bridge` is the `--egress-bridge PORT:PATH`
 * both supervise and confine take, or NULL for a sandbox without network. */
int launch_main(int argc, char **argv);
int confine_main(int argc, char **argv);
int supervise_main(const char *egress_bridge);

/* splice-flow.c: one direction of a socket-to-socket relay, through a pipe, with splice(2) */
struct splice_flow {
  int pipe_r, pipe_w;
  size_t queued;
  /* Bytes handed to the destination so far; with a limit (not 0), no more than it is ever read. */
  uint64_t moved, limit;
  /* Its source reported end of input; the destination's write side was shut once the pipe drained. */
  int eof, shut;
  /* The last read from the source found no room (or nothing) while bytes were queued: the source is
   * not polled again until the destination has taken some, so a full pipe cannot make poll spin. */
  int stalled;
};
size_t splice_flow_open(struct splice_flow *f, size_t bytes);
void splice_flow_close(struct splice_flow *f);
/* The poll entries of the two sides (client: the source of `up`, upstream: the source of `down`). */
void splice_flow_poll(int client, int upstream, const struct splice_flow *up, const struct splice_flow *down,
                      size_t capacity, struct pollfd *client_entry, struct pollfd *upstream_entry);
/* 0, or -1 when the connection must close. */
int splice_flow_pump(int from, int to, struct splice_flow *f, size_t capacity);

/* relay.c: `airlock-helper relay`, a bulk egress tunnel handed off by the proxy */
int relay_main(int argc, char **argv);

/* bridge.c: loopback to the egress proxy's socket, inside the supervisor's poll loop */
struct sockaddr_un;
const char *parse_bridge_spec(const char *spec, uint16_t *port, struct sockaddr_un *addr);
int bridge_start(const char *spec);
/* Adds the bridge's fds from fds[n]; returns the new count (at most 1 + 2 * BRIDGE_MAX_CONNS more). */
int bridge_fill_poll(struct pollfd *fds, int n);
void bridge_serve(const struct pollfd *fds);

/* supervise.c: the command table */
struct command {
  int used;
  uint32_t id;
  pid_t keeper;
  /* What the keeper and its command child read (see make_launch); freed once the keeper is reaped. */
  struct launch *launch;
  int out_fd, err_fd, status_fd, in_fd;
  unsigned char *stdin_buf;
  size_t stdin_len, stdin_off;
  /* stdin stays open for INPUT frames (EXEC_STDIN_STREAM or EXEC_PTY); on a PTY out_fd is the
   * terminal's master and in_fd a second descriptor of it. */
  int stdin_stream, pty, input_eof;
  /* An INPUT frame is being written: its OK goes out once stdin_buf is drained. */
  int input_ack_pending;
  int64_t deadline_ms; /* 0 = none */
  int timed_out, killed, keeper_lost;
  int have_status, status;
  int start_errno; /* the command could not start: reported as an error, not an exit */
  int reported;
};

extern struct command commands[MAX_COMMANDS];
extern sigset_t original_mask;
void close_fd(int *fd);
struct command *find_command(uint32_t id);

/* command-start.c */
void handle_exec(uint32_t id, const struct exec_request *r);
/* command-input.c */
void handle_input(uint32_t id, const unsigned char *data, size_t len);
void handle_resize(uint32_t id, const struct resize_request *r);
/* Drops what is buffered for the command's stdin, acknowledging a pending INPUT frame. */
void finish_input(struct command *c, int close_stdin);
/* Set once by supervise_main: the ruleset fd from make_command_ruleset, or -1. */
extern int command_ruleset;
/* Forgets slot `slot`'s stacks without unmapping them (a stray may still run on them). */
void abandon_slot_stacks(int slot);

/* process-tree.c */
int collect_descendants(pid_t root, pid_t *out, int max);
void kill_tree(pid_t root);
void kill_tree_stopping_others(pid_t root);
pid_t parent_of(pid_t pid);

/* files.c */
void handle_read_file(uint32_t id, const struct read_file_request *r);
void handle_write_file(uint32_t id, struct write_file_request *r);
void handle_list(uint32_t id, struct list_request *r);

#endif
