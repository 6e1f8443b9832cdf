#include "helper.h"

/* Collect live (non-zombie) descendants of `root` by scanning /proc (the sandbox's own procfs,
 * so only sandbox processes are visible). */
int collect_descendants(pid_t root, pid_t *out, int max) {
  static pid_t pids[32768], ppids[32768];
  static char states[32768];
  int n = 0;
  DIR *dir = opendir("/proc");
  if (!dir) return 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL && n < 32768) {
    char *end;
    long pid = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0) continue;
    buf[len] = '\0';
    /* comm may contain spaces and parentheses: fields resume after the last ')'. */
    char *close_paren = strrchr(buf, ')');
    if (!close_paren || close_paren[1] == '\0') continue;
    char state;
    long ppid;
    if (sscanf(close_paren + 2, "%c %ld", &state, &ppid) != 2) continue;
    pids[n] = (pid_t)pid;
    ppids[n] = (pid_t)ppid;
    states[n] = state;
    n++;
  }
  closedir(dir);
  int count = 0;
  /* Breadth-first over the parent links; a zombie's children are still walked. */
  pid_t queue[4096];
  int head = 0, tail = 0;
  queue[tail++] = root;
  while (head < tail) {
    pid_t parent = queue[head++];
    for (int i = 0; i < n; i++) {
      if (ppids[i] != parent) continue;
      if (tail < 4096) queue[tail++] = pids[i];
      if (states[i] != 'Z' && count < max) out[count++] = pids[i];
    }
  }
  return count;
}

void kill_tree(pid_t root) {
  static pid_t victims[4096];
  for (int pass = 0; pass < KILL_PASSES; pass++) {
    int n = collect_descendants(root, victims, 4096);
    if (n == 0) return;
    for (int i = 0; i < n; i++) kill(victims[i], SIGKILL);
    /* Let the killed processes exit so their children are re-parented before the next scan. */
    struct timespec pause = {0, 200000};
    nanosleep(&pause, NULL);
  }
}

/* The first kill of a command's tree stops every other process of the sandbox while it runs:
 * kill(-1) reaches only this pid namespace (never the host), and neither pid 1 nor the caller. A
 * fork bomb at the process limit refills each slot a kill frees before the next scan finds the new
 * process; where forks and scans are slow (gVisor, with the supervisor getting a few milliseconds
 * of CPU a second among hundreds of bomb processes) the tree kill never converged. A stopped
 * process neither forks nor competes for the CPU. The other commands' processes are continued at
 * once; they see a stop and a continue (their parents a SIGCHLD), and one the agent had stopped
 * itself is continued too. */
void kill_tree_stopping_others(pid_t root) {
  kill(-1, SIGSTOP);
  kill_tree(root);
  kill(-1, SIGCONT);
}

pid_t parent_of(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return -1;
  buf[len] = '\0';
  char *close_paren = strrchr(buf, ')');
  char state;
  long ppid;
  if (!close_paren || sscanf(close_paren + 2, "%c %ld", &state, &ppid) != 2) return -1;
  return (pid_t)ppid;
}

