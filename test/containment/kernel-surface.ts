/**
 * Containment tests of the kernel surface a sandbox reaches beyond files and processes: which socket
 * families it may open, and which of the host kernel's own files it can read. Part of every driver's
 * containment suite (see containment-suite.ts).
 */
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { maskedProcPaths, maskedSysPaths } from '../../src/sandbox/layout/index.ts';
import type { Sandbox } from '../../src/sandbox/index.ts';

/** The suite's `it`: a declared gap of the driver becomes a skip naming its reason. */
export type SuiteIt = (title: string, body: () => Promise<void>, timeoutMs?: number) => void;

/**
 * Families that must fail, with a type and protocol each would accept if it were allowed, so the
 * refusal cannot come from a bad argument instead (numbers from linux/socket.h: Python lacks
 * constants for some of them).
 */
const refusedFamilies = [
  { name: 'AF_VSOCK', family: 40, type: 1, protocol: 0 },
  { name: 'AF_PACKET', family: 17, type: 2, protocol: 0 },
  { name: 'AF_ALG', family: 38, type: 5, protocol: 0 },
  { name: 'AF_KEY', family: 15, type: 3, protocol: 2 },
  { name: 'AF_BLUETOOTH', family: 31, type: 1, protocol: 3 },
  { name: 'AF_TIPC', family: 30, type: 4, protocol: 0 },
  { name: 'AF_APPLETALK', family: 5, type: 2, protocol: 0 },
  { name: 'AF_NETLINK/NETLINK_SOCK_DIAG', family: 16, type: 3, protocol: 4 },
  { name: 'AF_NETLINK/NETLINK_KOBJECT_UEVENT', family: 16, type: 3, protocol: 15 },
] as const;

/** Prints `<name> open` or `<name> <errno name>` for each family, then the allowed families at work. */
function socketProbe(): string {
  return [
    'import errno, os, socket',
    'def attempt(name, family, kind, protocol):',
    '    try:',
    '        socket.socket(family, kind, protocol).close()',
    "        print(name, 'open')",
    '    except OSError as error:',
    '        print(name, errno.errorcode.get(error.errno, error.errno))',
    ...refusedFamilies.map(
      ({ name, family, type, protocol }) =>
        `attempt(${JSON.stringify(name)}, ${family}, ${type}, ${protocol})`,
    ),
    'a, b = socket.socketpair(socket.AF_UNIX)',
    "a.sendall(b'unix'); print('AF_UNIX', b.recv(16).decode())",
    "server = socket.socket(socket.AF_INET); server.bind(('127.0.0.1', 0)); server.listen()",
    'client = socket.create_connection(server.getsockname())',
    "peer, _ = server.accept(); client.sendall(b'inet'); print('AF_INET', peer.recv(16).decode())",
    "attempt('AF_INET6', socket.AF_INET6, socket.SOCK_STREAM, 0)",
    // getifaddrs-style interface listing: AF_NETLINK with NETLINK_ROUTE.
    "print('NETLINK_ROUTE', ' '.join(name for _, name in socket.if_nameindex()))",
  ].join('\n');
}

/** The and Docker's lists, spelled out so the test does not trust the list it checks. */
const mustBeMasked = [
  '/proc/cmdline',
  '/proc/kallsyms',
  '/proc/modules',
  '/proc/keys',
  '/proc/sched_debug',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/latency_stats',
  '/proc/kcore',
  '/proc/acpi',
  '/proc/asound',
  '/proc/scsi',
  '/sys/kernel',
  '/sys/kernel/notes',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Reads each path inside the sandbox: `path state [base64 of up to 64 KiB]`, one line each. */
function maskProbe(): string {
  return (
    [
      'import base64, os, sys',
      'for path in sys.argv[1:]:',
      '    try:',
      '        if os.path.isdir(path):',
      "            print(path, 'dir', base64.b64encode('\\n'.join(sorted(os.listdir(path))).encode()).decode())",
      '        else:',
      "            with open(path, 'rb') as f:",
      "                print(path, 'file', base64.b64encode(f.read(65536)).decode())",
      '    except FileNotFoundError:',
      "        print(path, 'absent')",
      '    except OSError as error:',
      "        print(path, 'refused', error.errno)",
    ].join('\n') + `\nEOF\n`
  );
}

function hostView(path: string): string | null {
  try {
    return readdirSync(path).sort().join('\n');
  } catch {
    try {
      return readFileSync(path).subarray(0, 65536).toString('latin1');
    } catch {
      return null;
    }
  }
}

export interface KernelSurfaceOptions {
  /** The driver's host state directory: no mount of the sandbox may name it. */
  stateDir: string;
}

export function defineKernelSurfaceTests(
  it: SuiteIt,
  sandbox: () => Sandbox,
  options: KernelSurfaceOptions,
): void {
  describe('kernel surface', () => {
    it("shows nothing of the host in the host kernel's masked /proc and /sys files", async () => {
      const paths = [...new Set([...mustBeMasked, ...maskedProcPaths, ...maskedSysPaths])];
      expect(paths.length).toBeGreaterThan(mustBeMasked.length);
      const result = await sandbox().exec(`python3 - ${paths.join(' ')} <<'EOF'\n${maskProbe()}`);
      expect(result.stderr).toBe('');
      const seen = result.stdout.trim().split('\n');
      expect(seen).toHaveLength(paths.length);
      for (const line of seen) {
        const [path = '', state = '', encoded = ''] = line.split(' ');
        const content = Buffer.from(encoded, 'base64').toString('latin1');
        if (state === 'absent' || state === 'refused' || content === '') continue;
        // Content the sandbox's own kernel made up (gVisor's) is allowed; the host's is not: no
        // line of it may be a line of what the host shows at the same path.
        const host = hostView(path);
        const hostLines = new Set((host ?? '').split('\n').filter((hostLine) => hostLine.trim() !== ''));
        const shared = content.split('\n').filter((sandboxLine) => hostLines.has(sandboxLine));
        expect(shared, `${path} shows the host's content`).toEqual([]);
      }
    });

    it('has a mount table that names no host path of the state directory', async () => {
      const result = await sandbox().exec('cat /proc/self/mountinfo');
      expect(result.stdout.split('\n').length).toBeGreaterThan(3);
      for (const path of new Set([options.stateDir, realpathSync(options.stateDir)])) {
        expect(result.stdout).not.toContain(path);
      }
    });

    it('refuses socket families outside the allow-list, AF_VSOCK included, and keeps unix, inet and inet6 working', async () => {
      expect(refusedFamilies.length).toBeGreaterThan(0);
      const result = await sandbox().exec(`python3 - <<'EOF'\n${socketProbe()}\nEOF`);
      expect(result.stderr).toBe('');
      const lines = result.stdout.trim().split('\n');
      for (const { name, family } of refusedFamilies) {
        // Every other family is refused by Airlock's seccomp filter with EAFNOSUPPORT, other
        // netlink protocols with EPROTONOSUPPORT.
        const expected = family === 16 ? 'EPROTONOSUPPORT' : 'EAFNOSUPPORT';
        expect(lines, name).toContain(`${name} ${expected}`);
      }
      expect(lines).toContain('AF_UNIX unix');
      expect(lines).toContain('AF_INET inet');
      expect(lines).toContain('AF_INET6 open');
      expect(lines.find((line) => line.startsWith('NETLINK_ROUTE '))?.split(' ')).toContain('lo');
    });
  });
}
