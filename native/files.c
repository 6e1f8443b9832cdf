#include "helper.h"

/* ---------- supervisor: files ---------- */

/* Resolve `path` (absolute) without following any symlink, so a link the agent planted cannot
 * redirect a host-initiated copy. Returns an O_PATH fd of the parent directory and sets *leaf. */
static int open_parent_nofollow(char *path, char **leaf, int create_dirs) {
  if (path[0] != '/') {
    errno = EINVAL;
    return -1;
  }
  int dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return -1;
  char *cursor = path + 1;
  int depth = 0;
  for (;;) {
    char *slash = strchr(cursor, '/');
    if (!slash) {
      *leaf = cursor;
      if (*cursor == '\0' || strcmp(cursor, ".") == 0 || strcmp(cursor, "..") == 0) {
        close(dirfd);
        errno = EINVAL;
        return -1;
      }
      return dirfd;
    }
    *slash = '\0';
    if (*cursor == '\0' || strcmp(cursor, ".") == 0 || strcmp(cursor, "..") == 0 || ++depth > MAX_PATH_DEPTH) {
      close(dirfd);
      errno = EINVAL;
      return -1;
    }
    int next = openat(dirfd, cursor, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create_dirs) {
      if (mkdirat(dirfd, cursor, 0755) != 0 && errno != EEXIST) {
        close(dirfd);
        return -1;
      }
      next = openat(dirfd, cursor, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    close(dirfd);
    if (next < 0) return -1;
    dirfd = next;
    *slash = '/';
    cursor = slash + 1;
  }
}

static void file_error(uint32_t id, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(errno));
  send_error(id, errno, message);
}

void handle_read_file(uint32_t id, const struct read_file_request *r) {
  uint64_t max_bytes = r->max_bytes;
  char *leaf;
  int dirfd = open_parent_nofollow(r->path, &leaf, 0);
  if (dirfd < 0) return file_error(id, "cannot open");
  /* O_NONBLOCK so a FIFO planted by the agent cannot hang the supervisor; regular files only. */
  int fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  close(dirfd);
  if (fd < 0) return file_error(id, "cannot open");
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return file_error(id, "cannot stat");
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    return file_error(id, "not a regular file");
  }
  if ((uint64_t)st.st_size > max_bytes) {
    close(fd);
    errno = EFBIG;
    return file_error(id, "file is larger than the limit");
  }
  unsigned char buf[READ_CHUNK];
  uint64_t total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return file_error(id, "read failed");
    }
    if (n == 0) break;
    total += (uint64_t)n;
    if (total > max_bytes) {
      close(fd);
      errno = EFBIG;
      return file_error(id, "file is larger than the limit");
    }
    send_frame(REP_DATA, id, buf, (size_t)n);
  }
  close(fd);
  unsigned char payload[8];
  put_u64(payload, total);
  send_frame(REP_OK, id, payload, sizeof payload);
}

void handle_write_file(uint32_t id, struct write_file_request *r) {
  uint32_t mode = r->mode, flags = r->flags;
  char *leaf;
  int dirfd = open_parent_nofollow(r->path, &leaf, flags & 1);
  if (dirfd < 0) return file_error(id, "cannot open parent directory");
  int fd = openat(dirfd, leaf, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
  close(dirfd);
  if (fd < 0) return file_error(id, "cannot open");
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    errno = EINVAL;
    return file_error(id, "not a regular file");
  }
  if (!(flags & 2) && ftruncate(fd, 0) != 0) {
    close(fd);
    return file_error(id, "truncate failed");
  }
  if ((flags & 2) && lseek(fd, 0, SEEK_END) < 0) {
    close(fd);
    return file_error(id, "seek failed");
  }
  if (write_all(fd, r->data, r->data_len) != 0) {
    close(fd);
    return file_error(id, "write failed");
  }
  fchmod(fd, mode);
  close(fd);
  send_frame(REP_OK, id, NULL, 0);
}

/* Entries go out in DATA frames: u8 kind, u64 size, u64 mtimeMs, u16 nameLen, name. More than
 * maxEntries is an E2BIG error, so a directory with millions of files the agent made cannot make the
 * host hold them all. */
void handle_list(uint32_t id, struct list_request *r) {
  uint32_t max_entries = r->max_entries;
  char *path = r->path;
  int fd;
  if (strcmp(path, "/") == 0) {
    fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } else {
    char *leaf;
    int dirfd = open_parent_nofollow(path, &leaf, 0);
    if (dirfd < 0) return file_error(id, "cannot open");
    fd = openat(dirfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(dirfd);
  }
  if (fd < 0) return file_error(id, "cannot open directory");
  DIR *dir = fdopendir(fd);
  if (!dir) {
    close(fd);
    return file_error(id, "cannot open directory");
  }
  unsigned char buf[READ_CHUNK];
  size_t used = 0;
  uint32_t count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    if (++count > max_entries) {
      closedir(dir);
      send_error(id, E2BIG, "the directory has more entries than the listing limit");
      return;
    }
    struct stat st;
    if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    size_t name_len = strlen(entry->d_name);
    if (used + 19 + name_len > sizeof buf) {
      send_frame(REP_DATA, id, buf, used);
      used = 0;
    }
    char kind = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : 'o';
    buf[used] = (unsigned char)kind;
    put_u64(buf + used + 1, (uint64_t)st.st_size);
    put_u64(buf + used + 9, (uint64_t)st.st_mtim.tv_sec * 1000 + (uint64_t)st.st_mtim.tv_nsec / 1000000);
    buf[used + 17] = name_len & 0xff;
    buf[used + 18] = (name_len >> 8) & 0xff;
    memcpy(buf + used + 19, entry->d_name, name_len);
    used += 19 + name_len;
  }
  closedir(dir);
  if (used > 0) send_frame(REP_DATA, id, buf, used);
  send_frame(REP_OK, id, NULL, 0);
}
