/*
 * Frames on the host channel: replies out (send_frame, send_error) and the parsing of request
 * frames in. The host is trusted, but the parsers are the helper's whole input surface from
 * outside and are fuzzed (native/fuzz/frames-fuzz.c): each checks every length before it reads,
 * reads only inside [p, p + len), and returns NULL or what was wrong (sent back as EINVAL).
 */
#include "helper.h"

static int out_fd = 1;

void send_frame(uint8_t type, uint32_t id, const void *payload, size_t len) {
  unsigned char header[FRAME_HEADER_BYTES];
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

int parse_request_header(const unsigned char *header, struct request_header *out) {
  uint32_t length = get_u32(header);
  if (length < 5 || length - 5 > MAX_FRAME) return -1;
  out->type = header[4];
  out->id = get_u32(header + 5);
  out->payload_len = length - 5;
  return 0;
}

/* The NUL-terminated string at p[*off], moving *off past it; NULL if there is no NUL before len. */
static char *take_string(unsigned char *p, size_t len, size_t *off) {
  if (*off >= len) return NULL;
  char *start = (char *)p + *off;
  char *nul = memchr(start, '\0', len - *off);
  if (!nul) return NULL;
  *off = (size_t)(nul - (char *)p) + 1;
  return start;
}

void free_exec_request(struct exec_request *r) {
  free(r->argv);
  free(r->envp);
  r->argv = r->envp = NULL;
}

/* EXEC payload: u32 timeoutMs, u32 flags (EXEC_*, with a PTY's columns in bits 8-19 and rows in
 * bits 20-31), u32 stdinLen, stdin bytes, then NUL-terminated strings: exe, cwd, then u32 argc +
 * argv strings, u32 envc + env strings. */
const char *parse_exec(unsigned char *p, size_t len, struct exec_request *out) {
  memset(out, 0, sizeof *out);
  if (len < 12) return "malformed exec request";
  out->timeout_ms = get_u32(p);
  uint32_t flags = get_u32(p + 4);
  out->flags = flags & 0xffu;
  uint32_t cols = (flags >> 8) & 0xfffu, rows = flags >> 20;
  if (out->flags & ~EXEC_KNOWN_FLAGS) return "unknown exec flags";
  if (out->flags & EXEC_PTY) {
    if (cols == 0 || rows == 0 || cols > MAX_PTY_DIMENSION || rows > MAX_PTY_DIMENSION)
      return "terminal size out of range";
    out->cols = (uint16_t)cols;
    out->rows = (uint16_t)rows;
  } else if (cols != 0 || rows != 0) {
    return "a terminal size without a terminal";
  }
  uint32_t stdin_len = get_u32(p + 8);
  size_t off = 12;
  if (stdin_len > len - off) return "malformed exec request";
  out->stdin_data = p + off;
  out->stdin_len = stdin_len;
  off += stdin_len;
  out->exe = take_string(p, len, &off);
  out->cwd = out->exe ? take_string(p, len, &off) : NULL;
  if (!out->cwd) return "malformed exec request";
  char ***vectors[2] = {&out->argv, &out->envp};
  for (int v = 0; v < 2; v++) {
    if (len - off < 4) goto malformed;
    uint32_t count = get_u32(p + off);
    off += 4;
    if (count > MAX_EXEC_STRINGS) goto malformed;
    *vectors[v] = calloc(count + 1, sizeof(char *));
    if (!*vectors[v]) goto malformed;
    for (uint32_t k = 0; k < count; k++) {
      (*vectors[v])[k] = take_string(p, len, &off);
      if (!(*vectors[v])[k]) goto malformed;
    }
  }
  if (!out->argv[0]) goto malformed;
  return NULL;
malformed:
  free_exec_request(out);
  return "malformed exec request";
}

const char *parse_input(size_t len) {
  return len > MAX_INPUT_BYTES ? "input frame too large" : NULL;
}

const char *parse_resize(const unsigned char *p, size_t len, struct resize_request *out) {
  if (len != 4) return "malformed resize request";
  out->cols = (uint16_t)(p[0] | (p[1] << 8));
  out->rows = (uint16_t)(p[2] | (p[3] << 8));
  if (out->cols == 0 || out->rows == 0 || out->cols > MAX_PTY_DIMENSION || out->rows > MAX_PTY_DIMENSION)
    return "terminal size out of range";
  return NULL;
}

/* READ_FILE payload: u64 maxBytes, path\0 */
const char *parse_read_file(unsigned char *p, size_t len, struct read_file_request *out) {
  if (len < 9 || p[len - 1] != '\0') return "malformed read request";
  out->max_bytes = get_u64(p);
  out->path = (char *)p + 8;
  return NULL;
}

/* WRITE_FILE payload: u32 mode, u32 flags (1 = create parent dirs, 2 = append: a later chunk of a
 * large file), u32 pathLen, path, data */
const char *parse_write_file(unsigned char *p, size_t len, struct write_file_request *out) {
  if (len < 12) return "malformed write request";
  out->mode = get_u32(p) & 0777;
  out->flags = get_u32(p + 4);
  uint32_t path_len = get_u32(p + 8);
  if (path_len == 0 || path_len > len - 12 || path_len > PATH_MAX) return "malformed write request";
  memcpy(out->path, p + 12, path_len);
  out->path[path_len] = '\0';
  if (strlen(out->path) != path_len) return "path contains NUL";
  out->data = p + 12 + path_len;
  out->data_len = len - 12 - path_len;
  return NULL;
}

/* LIST payload: u32 maxEntries, path\0 */
const char *parse_list(unsigned char *p, size_t len, struct list_request *out, int *err) {
  *err = EINVAL;
  if (len < 6 || p[len - 1] != '\0') return "malformed list request";
  out->max_entries = get_u32(p);
  if (len - 4 > PATH_MAX) {
    *err = ENAMETOOLONG;
    return "path too long";
  }
  memcpy(out->path, p + 4, len - 4);
  return NULL;
}
