/*
 * airlock-helper: the small native pieces of the sandbox drivers.
 *
 *   airlock-helper launch [--cgroup-procs FILE]... [--uid N --gid N] [--no-membarrier-registration]
 *                         (--instructions FD | -- PROGRAM ARGS...)
 *     Host side. Joins the session's cgroups *before* anything else runs (so every process bwrap
 *     forks is born inside the limits; moving a running tree later would race with its forks),
 *     drops root for an unprivileged host uid (so even a full namespace escape lands as nobody,
 *     not as host root), then execs PROGRAM (bwrap, or runsc for gVisor).
 *     --no-membarrier-registration  PROGRAM and everything it starts get EPERM from
 *                membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) (see refuse_membarrier_registration).
 *
 *   airlock-helper supervise
 *     Inside the sandbox. A session sandbox must outlive one command: files persist and background
 *     servers keep running between calls. Spawning bwrap per command cannot give that, and costs
 *     a full namespace setup each time. So bwrap starts this supervisor once; the host sends it
 *     framed requests on stdin and reads framed replies on stdout. A command then costs one process
 *     start inside the namespaces that already exist.
 *
 *     Each command runs under its own "keeper": a process marked as a child subreaper, made with
 *     clone(CLONE_VM) so that it shares the supervisor's memory instead of copying it (see
 *     "starting a command" below). Every process the command starts (even after
 *     setsid/nohup/double-fork) stays in the keeper's subtree, because orphans are re-parented to
 *     the nearest subreaper. A timeout or kill therefore finds the whole tree by walking the
 *     keeper's descendants, while background processes of a command that finished normally keep
 *     running under their keeper.
 *
 *   airlock-helper confine [--remove PATH]... [--user UID:GID] [--userns] [--seccomp FILE]...
 *     Inside a gVisor or Docker sandbox, as its first process. Those runtimes build the namespaces
 *     and mounts themselves; this mode adds what bwrap adds for the bubblewrap driver, then becomes
 *     the same supervisor, so commands, timeouts, kill-tree and file copies behave identically:
 *     --remove   removes PATH, a file or an empty directory (a device node the runtime adds
 *                unasked, e.g. gVisor's /dev/fuse); needs the owner's uid, no capability;
 *     --user     switches to UID:GID with no supplementary groups (needs CAP_SETUID/CAP_SETGID,
 *                which are then gone with the rest);
 *     --userns   a user namespace of its own, mapping only the current uid/gid (Docker without
 *                userns-remap shares the host's user namespace otherwise);
 *     (always)   every capability dropped, bounding and ambient sets included, and no_new_privs;
 *     --seccomp  each FILE holds a classic BPF program (struct sock_filter[]) to install, in order.
 *
 * Frames: see helper.h. Sources, one per mode or job: launch.c, confine.c, supervise.c (the main loop
 * and command table), command-start.c (keepers and command children), process-tree.c, files.c,
 * frames.c, util.c, clone.c with raw-syscall.h.
 */
#include "helper.h"

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "launch") == 0) return launch_main(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "supervise") == 0) return supervise_main();
  if (argc >= 2 && strcmp(argv[1], "confine") == 0) return confine_main(argc, argv);
  fprintf(stderr, "usage: airlock-helper launch [--cgroup-procs FILE]... [--uid N --gid N] [--no-membarrier-registration] "
                  "(--instructions FD | -- PROGRAM ARGS...)\n"
                  "       airlock-helper supervise\n"
                  "       airlock-helper confine [--remove PATH]... [--user UID:GID] [--userns] [--seccomp FILE]...\n");
  return 2;
}

/*
 * Security limitations
 * - Keepers, command children before their execve and (as pid 1's child) the supervisor share one
 *   address space. What keeps a command out of it is that it is not dumpable and that the seccomp
 *   filter refuses ptrace and process_vm_writev, the same checks that always guarded the
 *   supervisor; a kernel (or sentry) bug in them now exposes the supervisor through a keeper too.
 * - gVisor lists /proc/<pid>/fd of a non-dumpable process of the same uid. The host channel cannot
 *   be reopened through it (host file descriptors give ENXIO), but the pipes of the session's other
 *   commands can (checked on runsc 20240729): commands of one session are one trust domain.
 * - When kill_strays() gives up on a fork bomb, that command's stacks and arguments stay allocated
 *   for the rest of the session rather than be reused.
 */
