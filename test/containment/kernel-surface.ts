/**
 * Containment tests of the kernel surface a sandbox reaches beyond files and processes: which socket
 * families it may open. Part of every driver's containment suite (see containment-suite.ts).
 */
import { describe, expect } from 'vitest';
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

export function defineKernelSurfaceTests(it: SuiteIt, sandbox: () => Sandbox): void {
  describe('kernel surface', () => {
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
