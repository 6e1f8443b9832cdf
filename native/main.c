/*
 * airlock-helper: the small native pieces of the sandbox drivers.
 *
 *   airlock-helper launch [--cgroup-procs FILE]... [--uid N --gid N] [--no-membarrier-registration]
 *                         (--instructions FD | -- PROGRAM ARGS...)
 *     Host side. Joins the session's cgroups *before* anything else runs (so every process bwrap
 *     forks is born inside the limits; moving a running tree later would race with its forks),
 *     drops root for the session's own host uid (so even a full namespace escape lands as an
 *     unprivileged uid no one else uses, not as host root), then execs PROGRAM (bwrap, or runsc for
 *     gVisor). Instructions may start with `--nproc N`: RLIMIT_NPROC for PROGRAM and its sandbox.
 *     --no-membarrier-registration  PROGRAM and everything it starts get EPERM from
 *                membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) (see refuse_membarrier_registration).
 *
 *   airlock-helper supervise [--egress-bridge PORT:PATH]
 *     Inside the sandbox. A session sandbox must outlive one command: files persist and background
 *     servers keep running between calls. Spawning bwrap per command cannot give that, and costs
 *     a full namespace setup each time. So bwrap starts this supervisor once, as the sandbox's
 *     pid 1 (--as-pid-1); the host sends it framed requests on stdin and reads framed replies on
 *     stdout. A command then costs one process start inside the namespaces that already exist. No
 *     command can open, trace or signal the supervisor: see command-identity.c.
 *     --egress-bridge  listen on 127.0.0.1:PORT and join each connection to the Unix socket PATH,
 *                the session's egress proxy (bridge.c); without it the sandbox has no way out.
 *
 *     Each command runs under its own "keeper": a process marked as a child subreaper, made with
 *     clone(CLONE_VM) so that it shares the supervisor's memory instead of copying it (see
 *     "starting a command" below). Every process the command starts (even after
 *     setsid/nohup/double-fork) stays in the keeper's subtree, because orphans are re-parented to
 *     the nearest subreaper. A timeout or kill therefore finds the whole tree by walking the
 *     keeper's descendants, while background processes of a command that finished normally keep
 *     running under their keeper.
 *
 *   airlock-helper confine [--remove PATH]... [--user UID:GID] [--userns UID:GID] [--seccomp FILE]...
 *     Inside a gVisor or Docker sandbox, as its first process (pid 1). Those runtimes build the
 *     namespaces and mounts themselves; this mode adds what bwrap adds for the bubblewrap driver,
 *     then becomes the same supervisor, still pid 1, so commands, timeouts, kill-tree and file
 *     copies behave identically:
 *     --remove   removes PATH, a file or an empty directory (a device node the runtime adds
 *                unasked, e.g. gVisor's /dev/fuse); needs the owner's uid, no capability;
 *     --user     commands run as UID:GID; the supervisor stays the sandbox's root with CAP_SETUID,
 *                CAP_SETGID, CAP_KILL and CAP_SETPCAP only, no supplementary groups (see
 *                command-identity.c; gVisor, Docker with runsc);
 *     --userns UID:GID  a user namespace of its own, mapping only the current (host) uid/gid, to
 *                UID:GID inside (Docker without userns-remap shares the host's user namespace
 *                otherwise);
 *     (always)   no_new_privs, and (without --user) every capability dropped, bounding and ambient
 *                sets included;
 *     --seccomp  each FILE holds a classic BPF program (struct sock_filter[]) to install, in order;
 *     --egress-bridge  as for supervise.
 *
 *   airlock-helper relay --idle-ms N --parent PID
 *     Host side, for the egress proxy: carries one bulk tunnel it has decided, fds 3 and 4 joined
 *     with splice(2) until both directions end, then one line of byte counts (relay.c).
 *
 * Frames: see helper.h. Sources, one per mode or job: launch.c, confine.c, supervise.c (the main loop
 * and command table), command-start.c (keepers and command children), command-identity.c (what
 * keeps commands from the supervisor), process-tree.c, files.c, bridge.c (the egress bridge), relay.c (the proxy's bulk relay), splice-flow.c (what both use to move bytes), frames.c (replies and request
 * parsing, fuzzed by fuzz/frames-fuzz.c), util.c, clone.c with raw-syscall.h.
 */
#include "helper.h"

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "launch") == 0) return launch_main(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "supervise") == 0) {
    if (argc == 2) return supervise_main(NULL);
    if (argc == 4 && strcmp(argv[2], "--egress-bridge") == 0) return supervise_main(argv[3]);
    fprintf(stderr, "airlock-helper: supervise: unknown arguments\n");
    return 2;
  }
  if (argc >= 2 && strcmp(argv[1], "confine") == 0) return confine_main(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "relay") == 0) return relay_main(argc, argv);
  fprintf(stderr, "usage: airlock-helper launch [--cgroup-procs FILE]... [--uid N --gid N] [--no-membarrier-registration] "
                  "(--instructions FD | -- PROGRAM ARGS...)\n"
                  "       airlock-helper supervise [--egress-bridge PORT:PATH]\n"
                  "       airlock-helper confine [--remove PATH]... [--user UID:GID] [--userns UID:GID] [--seccomp FILE]...\n"
                  "                              [--egress-bridge PORT:PATH]\n"
                  "       airlock-helper relay --idle-ms N --parent PID   (sockets as fds 3 and 4)\n");
  return 2;
}

/*
 * Security limitations
 * - Keepers and command children before their execve share the supervisor's address space. What
 *   keeps a command out of it is that it is not dumpable, Landlock where the kernel has it, the
 *   seccomp filter refusing ptrace and process_vm_writev, and under gVisor the separate uid; a kernel
 *   (or sentry) bug in those exposes the supervisor through a keeper too.
 * - Under bwrap and Docker with runc, commands share the keepers' uid: a command can kill its own or
 *   another command's keeper (whose processes are then killed at once, see kill_strays), never the
 *   supervisor. Commands of one session are one trust domain.
 * - gVisor lets a process reopen another's fds through /proc/<pid>/fd whenever the file itself
 *   allows it (it checks no ptrace access; runsc 20240729). The channel (host fds: ENXIO) and the
 *   exit-status pipes (the supervisor's own, 0600) cannot be reopened; a command's stdout and stdin
 *   pipes are the agent's, so that /dev/stdout works, and other commands of the session can reopen
 *   them through the supervisor's fd table as they can through the command's own processes.
 * - When kill_strays() gives up on a fork bomb, that command's stacks and arguments stay allocated
 *   for the rest of the session rather than be reused.
 */
