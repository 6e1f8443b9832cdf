/**
 * Egress from inside a real sandbox (bwrap): a tool's requests through the supervisor's bridge on
 * 127.0.0.1:3128 and the control plane's proxy, beside the same client on the host talking to the
 * same server directly, in the same run. The client is one Python script in both places, so what
 * differs is the path: bridge, Unix socket, proxy. Targets as for the proxy alone: ≤ 2 ms added per
 * request at the median, ≥ 50 % of direct throughput.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAirlock } from '../src/index.ts';

const BULK_BYTES = 256 * 1024 * 1024;
/** Bulk rounds, direct and sandboxed in turn, so both see the machine in the same state; best of each. */
const BULK_ROUNDS = 3;
const WARMUP = 20;

const peerScript = fileURLToPath(new URL('./egress-peer.ts', import.meta.url));

/** Timing inside the client, so process start-up and the command pipeline are not counted. */
const CLIENT = String.raw`
import http.client, json, socket, sys, time
mode, host, port, runs, bulk_port, bulk_bytes, http_bulk_port, phase = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
proxied = mode == 'proxy'

def get(target_port, timeout):
    # A GET of target_port, through the proxy or straight to it.
    if proxied:
        c = http.client.HTTPConnection('127.0.0.1', 3128, timeout=timeout)
        c.request('GET', 'http://%s:%d/' % (host, target_port))
    else:
        c = http.client.HTTPConnection('127.0.0.1', target_port, timeout=timeout)
        c.request('GET', '/', headers={'Host': '%s:%d' % (host, target_port)})
    return c

def request():
    c = get(port, 30)
    reply = c.getresponse()
    reply.read()
    c.close()
    if reply.status != 200:
        raise SystemExit('status %d' % reply.status)

def bulk_http():
    c = get(http_bulk_port, 60)
    buffer = bytearray(1 << 20)
    started = time.perf_counter()
    reply = c.getresponse()
    received = 0
    while True:
        got = reply.readinto(buffer)
        if not got:
            break
        received += got
    elapsed = time.perf_counter() - started
    c.close()
    if reply.status != 200 or received != bulk_bytes:
        raise SystemExit('status %d, %d bytes' % (reply.status, received))
    return bulk_bytes / (1 << 20) / elapsed

def bulk():
    if proxied:
        s = socket.create_connection(('127.0.0.1', 3128), timeout=60)
        s.sendall(('CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n' % (host, bulk_port, host, bulk_port)).encode())
        head = b''
        while b'\r\n\r\n' not in head:
            head += s.recv(1)
        if not head.startswith(b'HTTP/1.1 200'):
            raise SystemExit(head.decode(errors='replace'))
    else:
        s = socket.create_connection(('127.0.0.1', bulk_port), timeout=60)
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    started = time.perf_counter()
    s.sendall(b'x')
    received = 0
    while received < bulk_bytes:
        got = s.recv_into(view)
        if got == 0:
            raise SystemExit('closed after %d bytes' % received)
        received += got
    elapsed = time.perf_counter() - started
    s.close()
    return bulk_bytes / (1 << 20) / elapsed

if phase == 'bulk':
    print(json.dumps({'rate': bulk()}))
    raise SystemExit(0)
if phase == 'bulk-http':
    print(json.dumps({'rate': bulk_http()}))
    raise SystemExit(0)
for _ in range(20):
    request()
times = []
for _ in range(runs):
    started = time.perf_counter()
    request()
    times.append((time.perf_counter() - started) * 1000)
times.sort()
print(json.dumps({'p50': times[(len(times) + 1) // 2 - 1], 'p99': times[max(0, -(-len(times) * 99 // 100) - 1)]}))
`;

interface Latency {
  readonly p50: number;
  readonly p99: number;
}

function line(label: string, value: string): void {
  console.log(`  ${label.padEnd(46)} ${value}`);
}

function parseFigures<T>(output: string, where: string): T {
  const last = output.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`the ${where} client printed no figures: ${output.slice(-500)}`);
  }
}

async function onHost<T>(script: string, args: readonly string[]): Promise<T> {
  const child = spawn('python3', [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`the host client exited ${code}`);
  return parseFigures<T>(output, 'host');
}

/** Why the in-sandbox bench cannot run here, or undefined. */
function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (['/usr/bin/bwrap', '/usr/local/bin/bwrap'].every((path) => !existsSync(path))) return 'no bwrap';
  if (['/usr/bin/python3', '/usr/local/bin/python3'].every((path) => !existsSync(path))) return 'no python3';
  return undefined;
}

export async function runEgressSandboxBench(options: { runs: number }): Promise<void> {
  const missing = unavailable();
  if (missing !== undefined) {
    console.log(`Egress from inside a sandbox: not run (${missing})`);
    return;
  }
  const home = mkdtempSync(join(tmpdir(), 'egress-sandbox-bench-'));
  const script = join(home, 'client.py');
  writeFileSync(script, CLIENT);
  const http = createHttpServer((_req, res) => res.end('ok'));
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;
  const bulkServer = spawn(process.execPath, [peerScript, 'serve', String(BULK_BYTES)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [portLine] = (await once(bulkServer.stdout, 'data')) as [Buffer];
  const bulkPort = Number(portLine.toString().trim());
  // Plain HTTP too (a Debian mirror, an http:// download): the proxy parses the request, and a large
  // body of known length is passed on unchanged.
  const httpBulkServer = spawn(process.execPath, [peerScript, 'serve-http', String(BULK_BYTES)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [httpPortLine] = (await once(httpBulkServer.stdout, 'data')) as [Buffer];
  const httpBulkPort = Number(httpPortLine.toString().trim());
  const airlock = await createAirlock({
    home,
    env: {},
    crossCheck: false,
    config: {
      sandbox: {
        driver: 'bwrap',
        timeout: '5m',
        memory: '512m',
        cpus: 2,
        network: {
          mode: 'allowlist',
          allow: [
            `api.example.test:${port}`,
            `api.example.test:${bulkPort}`,
            `api.example.test:${httpBulkPort}`,
          ],
          hosts: { 'api.example.test': '127.0.0.1' },
        },
      },
      policy: { preset: 'permissive' },
      router: { approvalRequiredFor: [], rateLimit: '1000/min' },
    },
  });
  try {
    const args = [
      'api.example.test',
      String(port),
      String(options.runs),
      String(bulkPort),
      String(BULK_BYTES),
      String(httpBulkPort),
    ];
    console.log(
      `Egress from inside a bwrap sandbox (${options.runs} requests after ${WARMUP} warm-up, new connection each; bulk best of ${BULK_ROUNDS}, direct and sandboxed in turn; one Python client, timing itself)`,
    );
    const direct = await onHost<Latency>(script, ['direct', ...args, 'latency']);
    const session = await airlock.sessions.create();
    await session.files.write('/tmp/client.py', CLIENT);
    const inSandbox = async <T>(phase: string): Promise<T> => {
      const result = await session.run(`python3 /tmp/client.py proxy ${args.join(' ')} ${phase}`);
      if (result.exitCode !== 0) throw new Error(`the sandbox client failed: ${result.forModel}`);
      return parseFigures<T>(result.stdout, 'sandbox');
    };
    const sandboxed = await inSandbox<Latency>('latency');
    const directRates: number[] = [];
    const sandboxedRates: number[] = [];
    const directHttpRates: number[] = [];
    const sandboxedHttpRates: number[] = [];
    for (let round = 0; round < BULK_ROUNDS; round += 1) {
      directRates.push((await onHost<{ rate: number }>(script, ['direct', ...args, 'bulk'])).rate);
      sandboxedRates.push((await inSandbox<{ rate: number }>('bulk')).rate);
      directHttpRates.push((await onHost<{ rate: number }>(script, ['direct', ...args, 'bulk-http'])).rate);
      sandboxedHttpRates.push((await inSandbox<{ rate: number }>('bulk-http')).rate);
    }
    await session.destroy();
    line(
      'HTTP request, host client direct',
      `p50 ${direct.p50.toFixed(2)} ms  p99 ${direct.p99.toFixed(2)} ms`,
    );
    line(
      'HTTP request, sandbox client through bridge+proxy',
      `p50 ${sandboxed.p50.toFixed(2)} ms  p99 ${sandboxed.p99.toFixed(2)} ms`,
    );
    line('  added per request (p50; target <= 2 ms)', `${(sandboxed.p50 - direct.p50).toFixed(2)} ms`);
    const mib = BULK_BYTES / (1024 * 1024);
    const directRate = Math.max(...directRates);
    const sandboxedRate = Math.max(...sandboxedRates);
    line(`bulk ${mib} MiB, host client direct`, `${directRate.toFixed(0)} MiB/s`);
    line(`bulk ${mib} MiB, sandbox client, CONNECT tunnel`, `${sandboxedRate.toFixed(0)} MiB/s`);
    line('  share of direct (target >= 50 %)', `${((sandboxedRate / directRate) * 100).toFixed(0)} %`);
    const directHttp = Math.max(...directHttpRates);
    const sandboxedHttp = Math.max(...sandboxedHttpRates);
    line(`bulk ${mib} MiB plain HTTP GET, host client direct`, `${directHttp.toFixed(0)} MiB/s`);
    line(`bulk ${mib} MiB plain HTTP GET, sandbox client`, `${sandboxedHttp.toFixed(0)} MiB/s`);
    line('  share of direct (target >= 50 %)', `${((sandboxedHttp / directHttp) * 100).toFixed(0)} %`);
  } finally {
    await airlock.close();
    http.close();
    bulkServer.kill();
    httpBulkServer.kill();
    rmSync(home, { recursive: true, force: true });
  }
}
