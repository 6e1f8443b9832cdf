/*
 * libFuzzer harness for the supervisor's request parsing (native/frames.c). The first input byte
 * picks what the rest is: odd, one request (a type byte, then the payload, whatever its length);
 * even, a byte stream as it arrives on the supervisor's channel, split into frames and parsed
 * exactly as supervise.c does, without acting on them. The first form lets the fuzzer change a
 * payload's length without also having to keep a frame header in step. Built with AddressSanitizer
 * and UBSan: a read or write outside a payload, an overflow or a leak is a crash libFuzzer reports
 * with its input.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Inative native/fuzz/frames-fuzz.c \
 *         native/frames.c native/util.c -o build/fuzz/frames-fuzz
 *   build/fuzz/frames-fuzz -max_total_time=600 -max_len=12288 -len_control=0 CORPUS_DIR
 *
 * test/fuzz/helper-frames.test.ts builds it and runs it briefly as part of npm test.
 */
#include "../helper.h"

/* Each payload is parsed from an allocation of exactly its size: ASan then catches a read one byte
 * past it, which reading from the fuzzer's larger input buffer would hide. */
static void parse_one(uint8_t type, const uint8_t *payload, size_t len) {
  unsigned char *copy = malloc(len > 0 ? len : 1);
  if (!copy) abort();
  memcpy(copy, payload, len);
  switch (type) {
    case REQ_EXEC: {
      struct exec_request r;
      if (!parse_exec(copy, len, &r)) {
        /* Everything a handler reads lies inside the payload: strlen past its end trips ASan. */
        size_t total = strlen(r.exe) + strlen(r.cwd) + r.stdin_len;
        for (char **v = r.argv; *v; v++) total += strlen(*v);
        for (char **v = r.envp; *v; v++) total += strlen(*v);
        if (total > len || r.stdin_data < copy || r.stdin_data + r.stdin_len > copy + len) abort();
        /* A terminal's size is in range, and there is none without a terminal. */
        if (r.flags & ~EXEC_KNOWN_FLAGS) abort();
        if ((r.flags & EXEC_PTY) ? (r.cols == 0 || r.rows == 0 || r.cols > MAX_PTY_DIMENSION || r.rows > MAX_PTY_DIMENSION)
                                 : (r.cols != 0 || r.rows != 0))
          abort();
      }
      free_exec_request(&r);
      break;
    }
    case REQ_INPUT:
      /* Accepted input is bounded: the handler copies at most this much. */
      if (!parse_input(len) && len > MAX_INPUT_BYTES) abort();
      break;
    case REQ_RESIZE: {
      struct resize_request r;
      if (!parse_resize(copy, len, &r) &&
          (len != 4 || r.cols == 0 || r.rows == 0 || r.cols > MAX_PTY_DIMENSION || r.rows > MAX_PTY_DIMENSION))
        abort();
      break;
    }
    case REQ_READ_FILE: {
      struct read_file_request r;
      if (!parse_read_file(copy, len, &r) && strlen(r.path) >= len) abort();
      break;
    }
    case REQ_WRITE_FILE: {
      struct write_file_request r;
      if (!parse_write_file(copy, len, &r)) {
        if (strlen(r.path) > PATH_MAX || r.data + r.data_len != copy + len) abort();
      }
      break;
    }
    case REQ_LIST: {
      struct list_request r;
      int err;
      if (!parse_list(copy, len, &r, &err) && strlen(r.path) > PATH_MAX) abort();
      break;
    }
    default:
      break;
  }
  free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (data[0] & 1) {
    if (size >= 2) parse_one(data[1], data + 2, size - 2);
    return 0;
  }
  size_t off = 1;
  while (size - off >= FRAME_HEADER_BYTES) {
    struct request_header h;
    /* The supervisor exits on a bad header and at the end of its input: so does this. */
    if (parse_request_header(data + off, &h) != 0) return 0;
    off += FRAME_HEADER_BYTES;
    if (h.payload_len > size - off) return 0;
    parse_one(h.type, data + off, h.payload_len);
    off += h.payload_len;
  }
  return 0;
}
