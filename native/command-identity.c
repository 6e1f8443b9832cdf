/*
 * Who commands run as, and what keeps each one away from the supervisor and from other commands.
 *
 * The supervisor holds the host channel. Commands must not be able to open it, trace the
 * supervisor or signal it, and that rests on three things, each where the kernel offers it:
 *   - The supervisor is the sandbox's pid 1 (every driver). The kernel delivers a signal from inside
 *     a pid namespace to its init only if init handles it, and SIGKILL and SIGSTOP never: commands
 *     cannot signal the supervisor. (gVisor does not implement this; the next point covers it.)
 *   - It is not dumpable, so /proc/<pid>/mem, /proc/<pid>/fd, /proc/<pid>/syscall and ptrace of it
 *     need CAP_SYS_PTRACE, which no command holds. Keepers share its memory, so they are not either.
 *   - Where the sandbox's user namespace has more than one uid (gVisor, Docker with runsc, through
 *     `confine --user`), the supervisor and keepers stay the sandbox's root while commands run as the
 *     agent's uid, so signals and /proc access are refused by uid as well. gVisor needs this: it
 *     lists a non-dumpable process's fds to the same uid and lets them be reopened, and lets the same
 *     uid kill pid 1. The supervisor keeps CAP_SETUID, CAP_SETGID, CAP_KILL and CAP_SETPCAP, no more;
 *     the command child drops them (and the bounding set) when it switches to the agent's ids. The
 *     host's files are the agent's: file copies and the pipes commands write to are made with the
 *     agent's effective ids (as_agent), so the agent owns what is copied in and can reopen its own
 *     stdout (/dev/stdout); the exit-status pipe is the supervisor's own.
 *   - Where the kernel has Landlock (ABI 1 or later; not gVisor), each command starts in a Landlock
 *     domain of its own. Landlock lets a process trace, or open the memory of, only processes of its
 *     own domain or nested ones: not the supervisor, not a keeper, not another command.
 */
#include "helper.h"
#include "raw-syscall.h"
#include <linux/landlock.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif
#ifndef SYS_landlock_add_rule
#define SYS_landlock_add_rule 445
#endif

struct command_identity agent = {.uid = -1, .gid = -1};

void as_agent(void) {
  if (agent.uid < 0) return;
  if (setresgid((gid_t)-1, (gid_t)agent.gid, (gid_t)-1) != 0) die("setresgid (agent)");
  if (setresuid((uid_t)-1, (uid_t)agent.uid, (uid_t)-1) != 0) die("setresuid (agent)");
}

void as_supervisor(void) {
  if (agent.uid < 0) return;
  /* Real and saved ids stay the supervisor's, so it may switch back; the kernel then restores its
   * effective capabilities from the permitted set. */
  if (setresuid((uid_t)-1, 0, (uid_t)-1) != 0) die("setresuid (supervisor)");
  if (setresgid((gid_t)-1, 0, (gid_t)-1) != 0) die("setresgid (supervisor)");
}

int landlock_abi = 0;

int make_command_ruleset(void) {
  long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 1) return -1; /* ENOSYS, EOPNOTSUPP: no Landlock here (gVisor, older kernels) */
  /* A ruleset must handle some access. Creating block devices is refused anyway (no CAP_MKNOD in
   * any sandbox): handling it restricts nothing a command can do, and makes the domain that brings
   * Landlock's ptrace scoping. */
  struct landlock_ruleset_attr attr = {.handled_access_fs = LANDLOCK_ACCESS_FS_MAKE_BLOCK};
  /* From ABI 2 on, every domain refuses a link or rename into another directory (EXDEV: `ln a/f b/`
   * fails, `mv a/f b/` copies and deletes) unless a rule grants LANDLOCK_ACCESS_FS_REFER. Handled and
   * granted beneath the sandbox's root, it restricts nothing again. (ABI 1 refuses it with no way
   * to grant it.) */
  if (abi >= 2) attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
  long fd = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (fd < 0) return -1;
  if (abi >= 2) {
    struct landlock_path_beneath_attr beneath = {
        .allowed_access = LANDLOCK_ACCESS_FS_REFER,
        .parent_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC),
    };
    long added = beneath.parent_fd < 0 ? -1
                                       : syscall(SYS_landlock_add_rule, (int)fd,
                                                 LANDLOCK_RULE_PATH_BENEATH, &beneath, 0);
    if (beneath.parent_fd >= 0) close(beneath.parent_fd);
    /* Without the rule, handling REFER would refuse what it was meant to allow: keep ABI 1's
     * ruleset (renames across directories refused, as before) rather than none. */
    if (added != 0) {
      close((int)fd);
      attr.handled_access_fs = LANDLOCK_ACCESS_FS_MAKE_BLOCK;
      fd = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
      if (fd < 0) return -1;
    }
  }
  landlock_abi = (int)abi;
  return (int)fd;
}

/*
 * Security limitations
 * - Landlock scopes ptrace-style access, not signals: scoping signals too (ABI 6) would also keep a
 *   command from stopping an earlier command's background server. Under bwrap and Docker with runc a
 *   command can therefore kill a keeper (see main.c); never the supervisor, which is pid 1.
 * - On kernels without Landlock, what keeps a command from its keeper's or the supervisor's memory
 *   is that they are not dumpable and that the seccomp filter refuses ptrace and process_vm_*.
 * - Yama is not relied on; where it is active it is reported, and it only adds to the above.
 */
