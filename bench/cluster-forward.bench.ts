/**
 * What forwarding costs the node that forwards, alone: three nodes on one PostgreSQL, every session
 * on node b or c, every command sent to node a, which runs none and only passes them on. Printed: node
 * a's CPU (user and system time of its `airlock serve` process, from /proc) per forwarded command,
 * beside the same commands sent straight to their nodes in the same run (what a node spends when it
 * forwards nothing). The cluster bench's emulated machines cannot resolve a cost this small on a
 * shared host; this measures it directly. Needs /proc (Linux); `--cpu-prof DIR` profiles node a.
 */
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { post, TOKEN, withCluster, type Serve, type ServeOptions } from './cluster-serve.ts';

export interface ClusterForwardBenchOptions {
  readonly sessions: number;
  readonly commandsPerSession: number;
  readonly cpuProfileDir?: string;
}

/** CPU time of a process so far, in ms (utime + stime; USER_HZ is 100 on Linux). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Created {
  readonly id: string;
  readonly token: string;
  readonly url: string;
}

/** Every session's commands at once, each to `via` (or its own node); node a's CPU per command. */
async function measure(
  a: Serve,
  sessions: readonly Created[],
  commandsPerSession: number,
  via: string | null,
): Promise<{ perCommandMs: number; commandsPerS: number }> {
  const pid = a.child.pid ?? 0;
  const before = cpuMsOf(pid);
  const started = performance.now();
  await Promise.all(
    sessions.map(async (session) => {
      for (let i = 0; i < commandsPerSession; i++) {
        const result = await post(
          via ?? session.url,
          `/v1/sessions/${session.id}/commands`,
          { command: 'sleep 0.1' },
          session.token,
        );
        if (result['status'] !== 'completed') throw new Error(`command ${JSON.stringify(result)}`);
      }
    }),
  );
  const commands = sessions.length * commandsPerSession;
  return {
    perCommandMs: (cpuMsOf(pid) - before) / commands,
    commandsPerS: commands / ((performance.now() - started) / 1000),
  };
}

export async function runClusterForwardBench(options: ClusterForwardBenchOptions): Promise<void> {
  console.log(
    `Cluster forwarding: ${options.sessions} sessions on nodes b and c, ${options.commandsPerSession} × \`sleep 0.1\` each, all sent to node a`,
  );
  if (!existsSync('/proc/self/stat')) {
    console.log('  skipped: no /proc to read a process’s CPU time from');
    return;
  }
  // Every node holds all the sessions it may be given (a: none; b and c: half each).
  const profileA = (nodeId: string): ServeOptions =>
    nodeId === 'a' && options.cpuProfileDir !== undefined
      ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] }
      : {};
  await withCluster(['a', 'b', 'c'], options.sessions * 3, profileA, async (_urls, _postgres, nodes) => {
    const [a, b, c] = nodes as [Serve, Serve, Serve];
    const sessions: Created[] = [];
    for (let i = 0; i < options.sessions; i++) {
      const target = i % 2 === 0 ? b : c;
      const created = await post(target.url, '/v1/sessions', { node: target === b ? 'b' : 'c' }, TOKEN);
      sessions.push({ id: String(created['id']), token: String(created['token']), url: target.url });
    }
    const forwarded = await measure(a, sessions, options.commandsPerSession, a.url);
    const direct = await measure(a, sessions, options.commandsPerSession, null);
    console.log(
      `  forwarded by node a   ${forwarded.commandsPerS.toFixed(1).padStart(7)} commands/s  node a ${forwarded.perCommandMs.toFixed(2)} core-ms per command`,
    );
    console.log(
      `  sent to their node    ${direct.commandsPerS.toFixed(1).padStart(7)} commands/s  node a ${direct.perCommandMs.toFixed(2)} core-ms per command (its cost when it forwards nothing)`,
    );
  });
}
