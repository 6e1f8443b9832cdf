#include "helper.h"

/* ---------- supervisor: frames ---------- */

static int out_fd = 1;

void send_frame(uint8_t type, uint32_t id, const void *payload, size_t len) {
  unsigned char header[9];
  put_u32(header, (uint32_t)(len + 5));
  header[4] = type;
  put_u32(header + 5, id);
  /* The host side is gone if this fails; nothing left to serve. */
  if (write_all(out_fd, header, sizeof header) != 0) _exit(0);
  if (len > 0 && write_all(out_fd, payload, len) != 0) _exit(0);
}

void send_error(uint32_t id, int err, const char *message) {
  unsigned char buf[4 + 512];
  put_u32(buf, (uint32_t)err);
  size_t mlen = strlen(message);
  if (mlen > 511) mlen = 511;
  memcpy(buf + 4, message, mlen);
  send_frame(REP_ERROR, id, buf, 4 + mlen);
}
