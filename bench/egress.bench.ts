/**
 * The egress proxy's cost: time added to one request, and bulk throughput, each beside a direct
 * connection to the same server on 127.0.0.1 measured in the same run. Targets: ≤ 2 ms added per
 * request at the median and ≥ 50 % of direct throughput. Requests go through the session's Unix socket
 * as a sandbox's bridge would send them; the upstream is reached through the session's `hosts` entry.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEgressProxy } from '../src/egress/index.ts';
import { defaultHelperPath, isExecutable } from '../src/sandbox/index.ts';
import { formatMs, summarize, timeRuns } from './stats.ts';

export interface EgressBenchOptions {
  runs: number;
}

const WARMUP_RUNS = 20;
const BULK_BYTES = 512 * 1024 * 1024;
const BULK_ROUNDS = 3;

function line(label: string, value: string): void {
  console.log(`  ${label.padEnd(46)} ${value}`);
}

const peerScript = fileURLToPath(new URL('./egress-peer.ts', import.meta.url));

/** Runs one peer process to completion and returns what it printed. */
async function peer(args: readonly string[]): Promise<string> {
  const child = spawn(process.execPath, [peerScript, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`egress bench peer ${args[0]} exited ${code}`);
  return output.trim();
}

async function get(options: {
  socketPath?: string;
  port?: number;
  path: string;
  host: string;
}): Promise<void> {
  const req = request({ ...options, headers: { host: options.host }, agent: false });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  res.resume();
  await once(res, 'end');
}

async function openTunnel(socketPath: string, authority: string): Promise<Socket> {
  const socket = connect(socketPath);
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  let head = Buffer.alloc(0);
  while (head.indexOf('\r\n\r\n') === -1) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    head = Buffer.concat([head, chunk]);
  }
  socket.pause();
  if (!head.toString('latin1').startsWith('HTTP/1.1 200')) throw new Error(head.toString());
  const rest = head.subarray(head.indexOf('\r\n\r\n') + 4);
  if (rest.length > 0) socket.unshift(rest);
  return socket;
}

export async function runEgressBench(options: EgressBenchOptions): Promise<void> {
  const runs = options.runs;
  const directory = mkdtempSync(join(tmpdir(), 'egress-bench-'));
  const http = createHttpServer((_req, res) => res.end('ok'));
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const httpPort = (http.address() as AddressInfo).port;
  const bulkServer = spawn(process.execPath, [peerScript, 'serve', String(BULK_BYTES)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [portLine] = (await once(bulkServer.stdout, 'data')) as [Buffer];
  const bulkPort = Number(portLine.toString().trim());

  // As the control plane runs it: bulk tunnels handed to the helper's relay (when it is built).
  const relayHelperPath = isExecutable(defaultHelperPath) ? defaultHelperPath : undefined;
  const proxy = createEgressProxy({
    directory,
    ...(relayHelperPath === undefined ? {} : { relayHelperPath }),
  });
  // The same proxy relaying every byte itself, for comparison.
  const inNodeDirectory = mkdtempSync(join(tmpdir(), 'egress-bench-node-'));
  const inNodeProxy = createEgressProxy({ directory: inNodeDirectory });
  const network = {
    network: {
      mode: 'allowlist' as const,
      allow: [{ host: 'api.example.test', ports: [httpPort, bulkPort] }],
      hosts: { 'api.example.test': '127.0.0.1' },
    },
  };
  const session = await proxy.openSession('ses_bench', network);
  const inNodeSession = await inNodeProxy.openSession('ses_bench', network);
  try {
    console.log(`Egress bench (${runs} runs; upstreams on 127.0.0.1, proxy on a Unix socket in-process)`);
    const direct = summarize(
      await timeRuns(runs, WARMUP_RUNS, () => get({ host: '127.0.0.1', port: httpPort, path: '/' })),
    );
    const proxied = summarize(
      await timeRuns(runs, WARMUP_RUNS, () =>
        get({
          socketPath: session.socketPath,
          host: `api.example.test:${httpPort}`,
          path: `http://api.example.test:${httpPort}/`,
        }),
      ),
    );
    line(
      'HTTP request, direct (new connection)',
      `p50 ${formatMs(direct.p50Ms)} ms  p99 ${formatMs(direct.p99Ms)} ms`,
    );
    line(
      'HTTP request, through the proxy',
      `p50 ${formatMs(proxied.p50Ms)} ms  p99 ${formatMs(proxied.p99Ms)} ms`,
    );
    line('  added per request (p50; target <= 2 ms)', `${formatMs(proxied.p50Ms - direct.p50Ms)} ms`);

    const directConnect = summarize(
      await timeRuns(runs, WARMUP_RUNS, async () => {
        const socket = connect(bulkPort, '127.0.0.1');
        await once(socket, 'connect');
        socket.destroy();
      }),
    );
    // Opened and closed without a byte sent: the bulk server only starts its 512 MiB at the first byte,
    // and a loop of tunnels each starting one kept connections open (counted against the session's
    // limit) while the proxy wound them down, until a run was refused 429 on a busy machine.
    const tunnel = summarize(
      await timeRuns(runs, WARMUP_RUNS, async () => {
        (await openTunnel(session.socketPath, `api.example.test:${bulkPort}`)).destroy();
      }),
    );
    line('TCP connect, direct', `p50 ${formatMs(directConnect.p50Ms)} ms`);
    line('CONNECT tunnel open, through the proxy', `p50 ${formatMs(tunnel.p50Ms)} ms`);

    // Bulk: server, reader and proxy each in their own process, as a sandboxed tool, a server on the
    // network and the control plane are; in one process they would share one thread.
    const directRates: number[] = [];
    const proxiedRates: number[] = [];
    const inNodeRates: number[] = [];
    const throughTunnel = async (socketPath: string) =>
      Number(await peer(['read-tunnel', socketPath, `api.example.test:${bulkPort}`, String(BULK_BYTES)]));
    for (let round = 0; round < BULK_ROUNDS; round += 1) {
      directRates.push(Number(await peer(['read', String(bulkPort), String(BULK_BYTES)])));
      proxiedRates.push(await throughTunnel(session.socketPath));
      inNodeRates.push(await throughTunnel(inNodeSession.socketPath));
    }
    const best = (rates: number[]) => Math.max(...rates);
    const mib = BULK_BYTES / (1024 * 1024);
    line(`bulk ${mib} MiB, direct (best of ${BULK_ROUNDS})`, `${best(directRates).toFixed(0)} MiB/s`);
    const relayLabel = relayHelperPath === undefined ? 'no helper built: proxy relays' : 'bulk relay';
    line(
      `bulk ${mib} MiB, CONNECT tunnel, ${relayLabel} (best of ${BULK_ROUNDS})`,
      `${best(proxiedRates).toFixed(0)} MiB/s`,
    );
    line(
      '  share of direct (target >= 50 %)',
      `${((best(proxiedRates) / best(directRates)) * 100).toFixed(0)} %`,
    );
    line(
      `bulk ${mib} MiB, CONNECT tunnel, proxy relays every byte`,
      `${best(inNodeRates).toFixed(0)} MiB/s (${((best(inNodeRates) / best(directRates)) * 100).toFixed(0)} %)`,
    );
  } finally {
    await proxy.close();
    await inNodeProxy.close();
    rmSync(inNodeDirectory, { recursive: true, force: true });
    http.close();
    bulkServer.kill();
    rmSync(directory, { recursive: true, force: true });
  }
}
