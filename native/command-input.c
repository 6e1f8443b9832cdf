#include "helper.h"
#include <sys/ioctl.h>

/* ---------- supervisor: input to a running command, and its terminal's size ----------
 *
 * A command started with EXEC_STDIN_STREAM or EXEC_PTY keeps its stdin open, and the host sends
 * what a person or agent types as INPUT frames. One frame is buffered per command at a time (at
 * most MAX_INPUT_BYTES): the host sends the next only after this one's OK (u32: bytes written), so
 * a command that never reads its input holds the supervisor's memory to one frame. */

static void send_input_ack(uint32_t id, size_t written) {
  unsigned char payload[4];
  put_u32(payload, (uint32_t)written);
  send_frame(REP_OK, id, payload, sizeof payload);
}

void finish_input(struct command *c, int close_stdin) {
  if (c->input_ack_pending) {
    c->input_ack_pending = 0;
    send_input_ack(c->id, c->stdin_off);
  }
  free(c->stdin_buf);
  c->stdin_buf = NULL;
  c->stdin_len = c->stdin_off = 0;
  if (close_stdin) close_fd(&c->in_fd);
}

void handle_input(uint32_t id, const unsigned char *data, size_t len) {
  struct command *c = find_command(id);
  /* The command ended, or takes no input: nothing is written, and the OK says so (0 bytes). A
   * second frame before the first was written is refused the same way: the host never sends one. */
  if (!c || c->reported || c->in_fd < 0 || !c->stdin_stream || c->stdin_off < c->stdin_len) {
    send_input_ack(id, 0);
    return;
  }
  if (len == 0) {
    /* End of input: a pipe is closed (the command reads EOF); a terminal stays open, since a
     * person ends input by typing it (^D), as at any terminal. */
    c->input_eof = 1;
    send_input_ack(id, 0);
    if (!c->pty) close_fd(&c->in_fd);
    return;
  }
  free(c->stdin_buf);
  c->stdin_buf = malloc(len);
  if (!c->stdin_buf) {
    send_input_ack(id, 0);
    return;
  }
  memcpy(c->stdin_buf, data, len);
  c->stdin_len = len;
  c->stdin_off = 0;
  c->input_ack_pending = 1;
}

void handle_resize(uint32_t id, const struct resize_request *r) {
  struct command *c = find_command(id);
  /* The kernel sends SIGWINCH to the terminal's foreground process group itself. */
  if (c && c->pty && !c->reported && c->out_fd >= 0) {
    struct winsize size = {.ws_row = r->rows, .ws_col = r->cols};
    ioctl(c->out_fd, TIOCSWINSZ, &size);
  }
  send_frame(REP_OK, id, NULL, 0);
}
