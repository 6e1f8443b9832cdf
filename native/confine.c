#include "helper.h"

/* ---------- confine mode (inside a gVisor or Docker sandbox) ---------- */

#define MAX_FILTERS 8
#define MAX_FILTER_BYTES (4096 * 8)

static void write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write_all(fd, text, strlen(text)) != 0) die(path);
  close(fd);
}

static void install_filter(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(path);
  static unsigned char buf[MAX_FILTER_BYTES + 1];
  size_t used = 0;
  for (;;) {
    ssize_t n = read(fd, buf + used, sizeof buf - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die(path);
    if (n == 0) break;
    used += (size_t)n;
    if (used > MAX_FILTER_BYTES) break;
  }
  close(fd);
  if (used == 0 || used > MAX_FILTER_BYTES || used % sizeof(struct sock_filter) != 0) {
    fprintf(stderr, "airlock-helper: %s is not a seccomp program (%zu bytes)\n", path, used);
    _exit(125);
  }
  struct sock_fprog prog = {.len = (unsigned short)(used / sizeof(struct sock_filter)),
                            .filter = (struct sock_filter *)buf};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) die("seccomp");
}

/* Drops every capability for good. Right after a user namespace is made the process holds a full
 * set in it (useless against namespaces it does not own, but inherited by anything it runs), and a
 * runtime may leave a bounding set behind; a command must start with all five sets empty. */
static void drop_capabilities(void) {
  for (int cap = 0; cap <= 63; cap++) {
    int present = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (present < 0) break; /* past the kernel's last capability */
    if (present == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) die("dropping the capability bounding set");
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) die("clearing ambient capabilities");
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &header, data) != 0) die("capset");
}

/* The capabilities the supervisor keeps when commands run as another uid (command-identity.c):
 * switching a command to the agent's ids, killing its processes (another uid's), and dropping the
 * bounding set in the command before that. */
static const int kept_capabilities[] = {CAP_SETUID, CAP_SETGID, CAP_KILL, CAP_SETPCAP};

static int is_kept(int cap) {
  for (size_t k = 0; k < sizeof kept_capabilities / sizeof kept_capabilities[0]; k++)
    if (kept_capabilities[k] == cap) return 1;
  return 0;
}

/* Commands will run as uid:gid; the supervisor stays the sandbox's root holding kept_capabilities
 * only, in every set, with no supplementary groups. */
static void keep_switching_capabilities(int uid, int gid) {
  for (int cap = 0; cap <= 63; cap++) {
    int present = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (present < 0) break; /* past the kernel's last capability */
    if (present == 1 && !is_kept(cap) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
      die("dropping the capability bounding set");
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) die("clearing ambient capabilities");
  if (setgroups(0, NULL) != 0) die("setgroups");
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  for (size_t k = 0; k < sizeof kept_capabilities / sizeof kept_capabilities[0]; k++) {
    data[0].permitted |= 1u << kept_capabilities[k];
  }
  data[0].effective = data[0].permitted;
  if (syscall(SYS_capset, &header, data) != 0) die("capset");
  agent.uid = uid;
  agent.gid = gid;
}

/* "UID:GID" → both, each 0 or more; -1 when malformed. */
static int parse_ids(const char *text, long *uid, long *gid) {
  char *end;
  *uid = strtol(text, &end, 10);
  *gid = *end == ':' ? strtol(end + 1, &end, 10) : -1;
  return *end == '\0' && *uid >= 0 && *gid >= 0 && end != text ? 0 : -1;
}

static void remove_path(const char *path) {
  /* remove(): a file or an empty directory, so a directory a device lived in can go after it. */
  if (remove(path) != 0 && errno != ENOENT) die(path);
}

int confine_main(int argc, char **argv) {
  int userns = 0, filters = 0, removals = 0;
  long uid = -1, gid = -1, inside_uid = -1, inside_gid = -1;
  const char *filter_paths[MAX_FILTERS], *remove_paths[MAX_FILTERS], *egress_bridge = NULL;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--userns") == 0 && i + 1 < argc) {
      userns = 1;
      if (parse_ids(argv[++i], &inside_uid, &inside_gid) != 0) {
        fprintf(stderr, "airlock-helper: confine: --userns wants UID:GID, got %s\n", argv[i]);
        _exit(125);
      }
    } else if (strcmp(argv[i], "--seccomp") == 0 && i + 1 < argc && filters < MAX_FILTERS) {
      filter_paths[filters++] = argv[++i];
    } else if (strcmp(argv[i], "--remove") == 0 && i + 1 < argc && removals < MAX_FILTERS) {
      remove_paths[removals++] = argv[++i];
    } else if (strcmp(argv[i], "--egress-bridge") == 0 && i + 1 < argc) {
      egress_bridge = argv[++i];
    } else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
      if (parse_ids(argv[++i], &uid, &gid) != 0) {
        fprintf(stderr, "airlock-helper: confine: --user wants UID:GID, got %s\n", argv[i]);
        _exit(125);
      }
    } else {
      fprintf(stderr, "airlock-helper: confine: unknown argument %s\n", argv[i]);
      _exit(125);
    }
  }
  for (int k = 0; k < removals; k++) remove_path(remove_paths[k]);
  if (uid >= 0) keep_switching_capabilities((int)uid, (int)gid);
  if (userns) {
    /* The container runs as the session's own host uid; inside, that uid is the agent's. */
    uid_t outside_uid = getuid();
    gid_t outside_gid = getgid();
    if (unshare(CLONE_NEWUSER) != 0) die("unshare(CLONE_NEWUSER)");
    char map[64];
    /* setgroups must be denied before an unprivileged process may write its gid_map. */
    write_text("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "%ld %u 1\n", inside_uid, (unsigned)outside_uid);
    write_text("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "%ld %u 1\n", inside_gid, (unsigned)outside_gid);
    write_text("/proc/self/gid_map", map);
  }
  if (uid < 0) drop_capabilities();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("no_new_privs");
  for (int k = 0; k < filters; k++) install_filter(filter_paths[k]);
  /* The supervisor is the sandbox's pid 1 itself: commands cannot signal it (command-identity.c),
   * and when it exits the sandbox ends with every process left in it. */
  return supervise_main(egress_bridge);
}
