/**
 * What one session does to the kernel's per-user limits, run by a command inside it (python3 from
 * the image), and the same probes for another session and for host processes.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/**
 * Takes inotify instances until the kernel refuses (EMFILE at max_user_instances, or at the open
 * files limit where that comes first, as in gVisor, which has no per-user inotify limit), then forks
 * children until it refuses (EAGAIN at RLIMIT_NPROC or the pids limit), writes what it got to
 * `reportPath` and holds all of it for a minute.
 */
export function exhaustScript(reportPath: string): string {
  return String.raw`
import ctypes, json, os, resource, time
libc = ctypes.CDLL(None, use_errno=True)
# Opened first: once every file descriptor it may have is taken, it could open nothing more.
out = open("${reportPath}", "w")
# Where the kernel has no per-user inotify limit (gVisor), the open files limit ends the loop:
# lowered to a size the loop reaches (Docker's is a million).
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 4096), hard))
IN_CLOEXEC = 0o2000000
held, inotify_errno = [], 0
for _ in range(8192):
    # Close-on-exec: the children below hold processes, not a copy of every instance.
    fd = libc.inotify_init1(IN_CLOEXEC)
    if fd < 0:
        inotify_errno = ctypes.get_errno()
        break
    held.append(fd)
children, fork_errno = 0, 0
for _ in range(1000):
    try:
        pid = os.fork()
    except OSError as error:
        fork_errno = error.errno
        break
    if pid == 0:
        # A small process, not a copy of python: under gVisor memory is the whole sandbox's.
        os.execv("/bin/sleep", ["sleep", "60"])
    children += 1
json.dump({"inotify": len(held), "inotifyErrno": inotify_errno, "children": children, "forkErrno": fork_errno}, out)
out.close()
time.sleep(60)
`;
}

/** Prints `inotify ok` when an inotify instance can be made, and `forked N` after N children. */
export const probeScript = String.raw`
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
print("inotify ok" if fd >= 0 else "inotify refused %d" % ctypes.get_errno())
count = int(sys.argv[1])
forked = 0
for _ in range(count):
    try:
        pid = os.fork()
    except OSError as error:
        print("fork refused %d" % error.errno)
        break
    if pid == 0:
        time.sleep(2)
        os._exit(0)
    forked += 1
print("forked %d" % forked)
`;

/** Host processes running as `uid` (real uid), from the host's /proc. */
export function hostProcessCount(uid: number): number {
  let count = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const line = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'));
      if (line && Number(line[1]) === uid) count += 1;
    } catch {
      // exited while we looked
    }
  }
  return count;
}

/**
 * The probe as a host process of `uid`, with RLIMIT_NPROC just above what that uid already runs:
 * a host process of a uid that sessions shared would find the sessions' processes counted too.
 */
export function probeOnHost(uid: number, children: number): string {
  const nproc = hostProcessCount(uid) + children + 4;
  const result = spawnSync(
    '/usr/bin/bash',
    ['-c', `ulimit -u ${nproc} && exec python3 -c "$0" ${children}`, probeScript],
    { uid, gid: uid, encoding: 'utf8', cwd: '/', env: { PATH: '/usr/bin:/bin' } },
  );
  return `${result.stdout}${result.stderr}`;
}

/** The real uid of a host process. */
export function hostUidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}
