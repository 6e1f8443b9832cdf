/**
 * Several control planes on one PostgreSQL against one control plane on SQLite, same run, same load:
 * 150 sessions, each running `sleep 0.1` (a command of at least 100 ms) a few times, all sessions at
 * once, over the HTTP API. Printed: commands/s and p50/p99 latency per command for each setup.
 * Commands are sent to the nodes in turn, as a load balancer would, so two in three are forwarded;
 * then again through the TypeScript SDK, which sends a session's commands to the node that runs it
 * once the server names it (cluster.directClients), so none is.
 *
 * Shared cores. Every `airlock serve` here runs on this one machine, so the nodes share its cores:
 * the cluster's figure shows the cost of the shared store and of forwarding, not the capacity of
 * three machines. To show where the time goes, each setup also prints how busy the machine's cores
 * were (from /proc/stat, every process on the machine counted) and the core time one command took:
 * when one node already keeps every core busy, more nodes on the same cores cannot run more commands,
 * and the ratio to reach on three machines is then bounded by the core time per command on each
 * setup. One node on PostgreSQL separates the cost of the store from the cost of the nodes.
 *
 * Emulated machines. Then each control plane (its `airlock serve` and every sandbox it starts) gets
 * the same CPU budget, a cgroup CPU quota (cluster-budget.ts), as if each ran on its own small
 * machine: one SQLite node with that budget against three PostgreSQL nodes with that budget each,
 * same run, same load. PostgreSQL and the load generator are not capped (the database has a machine
 * of its own), and the budgets are chosen small enough that three of them, the database and the load
 * generator fit in the machine's cores; the printed machine load and per-node usage show whether they
 * did. This emulates machines by CPU budget on one host: the nodes still share its memory, memory
 * bandwidth, disks and kernel, and talk to each other and to the database over loopback, not a
 * network. It needs root (to create cgroups); where cgroups cannot be made it says why and skips
 * only that part.
 */
import { cpus } from 'node:os';
import { createBudgets, type Budgets, type MemberUsage } from './cluster-budget.ts';
import { report, runLoad, type LoadHooks, type LoadOptions, type LoadResult } from './cluster-load.ts';
import { withCluster, withSingle } from './cluster-serve.ts';

export interface ClusterBenchOptions {
  readonly sessions: number;
  readonly commandsPerSession: number;
  /** CPU budget of each emulated machine, in cores. */
  readonly machineCores: number;
  /** Where the PostgreSQL nodes write CPU profiles (`node --cpu-prof`), to see where their time goes. */
  readonly cpuProfileDir?: string;
}

const COMMAND = 'sleep 0.1';
const NODES = ['bench-a', 'bench-b', 'bench-c'] as const;

/** `nodeArgs`: node options for the PostgreSQL nodes (`--cpu-prof`), none by default. */
async function sharedCores(load: LoadOptions, nodeArgs: readonly string[]): Promise<void> {
  // Baseline: one control plane on SQLite, as a single machine runs it.
  const baseline = await withSingle(load.sessions, {}, (urls) => runLoad(urls, load));
  report('one node, SQLite (baseline)', baseline);
  const onePg = await withCluster(
    ['bench-a'],
    load.sessions,
    () => ({ nodeArgs }),
    (urls) => runLoad(urls, load),
  );
  report('one node, PostgreSQL', onePg);
  const clustered = await withCluster(
    NODES,
    load.sessions,
    () => ({ nodeArgs }),
    (urls) => runLoad(urls, load),
  );
  report('three nodes, one PostgreSQL', clustered);
  const following = await withCluster(
    NODES,
    load.sessions,
    () => ({ nodeArgs }),
    (urls) => runLoad(urls, { ...load, sdk: true }),
  );
  report('  same, SDK following its session', following);
  console.log(
    `  throughput ratio (three nodes / one node)  in turn ${(clustered.commandsPerS / baseline.commandsPerS).toFixed(2)}×, ` +
      `SDK following ${(following.commandsPerS / baseline.commandsPerS).toFixed(2)}×` +
      '  (all on this one machine: not the capacity of three)',
  );
  if (clustered.coreMsPerCommand !== null && baseline.coreMsPerCommand !== null) {
    // Three machines each as busy as this one: each runs commands at its cores' pace, per command cost.
    const bound = (3 * baseline.coreMsPerCommand) / clustered.coreMsPerCommand;
    console.log(
      `  three machines could reach about ${bound.toFixed(2)}× at these core-ms per command ` +
        '(three times the cores, each command costing what it cost here); the target is 2.5×',
    );
  }
}

/** Cores each member used during the commands, and the share of quota periods it was held back. */
interface MemberLoad {
  readonly name: string;
  readonly cores: number;
  readonly throttledShare: number;
}

/** Load hooks that read the members' CPU accounting around the commands. */
function meter(budgets: Budgets, names: readonly string[]): { hooks: LoadHooks; loads: () => MemberLoad[] } {
  let before = new Map<string, MemberUsage>();
  let loads: MemberLoad[] = [];
  return {
    hooks: {
      begin: () => {
        before = new Map(names.map((name) => [name, budgets.usage(name)]));
      },
      end: (wallS) => {
        loads = names.map((name) => {
          const start = before.get(name) ?? { coreS: 0, periods: 0, throttled: 0 };
          const now = budgets.usage(name);
          const periods = now.periods - start.periods;
          return {
            name,
            cores: (now.coreS - start.coreS) / wallS,
            throttledShare: periods === 0 ? 0 : (now.throttled - start.throttled) / periods,
          };
        });
      },
    },
    loads: () => loads,
  };
}

const sum = (loads: readonly MemberLoad[]): number => loads.reduce((total, load) => total + load.cores, 0);

function reportUsage(result: LoadResult, loads: readonly MemberLoad[], budget: number): void {
  const nodes = loads.filter((load) => load.name !== 'postgres');
  const database = loads.find((load) => load.name === 'postgres');
  console.log(
    `      ${nodes.length === 1 ? 'node' : 'nodes'} used ${nodes.map((load) => load.cores.toFixed(2)).join(', ')} ` +
      `of ${budget} core (quota reached in ${nodes.map((load) => `${(load.throttledShare * 100).toFixed(0)}%`).join(', ')} of periods)` +
      `, ${((sum(nodes) * result.wallS * 1000) / result.commands).toFixed(1)} node core-ms/command` +
      (database === undefined ? '' : `; PostgreSQL ${database.cores.toFixed(2)} core`) +
      `; load generator ${result.loadGeneratorCores.toFixed(2)} core`,
  );
}

/** Three budgeted nodes on one PostgreSQL (uncapped, accounted), under the same load. */
async function budgetedCluster(
  budgets: Budgets,
  load: LoadOptions,
  sandboxCpus: number,
  nodeArgs: readonly string[],
): Promise<{ result: LoadResult; loads: MemberLoad[] }> {
  const clusterMeter = meter(budgets, [...NODES, 'postgres']);
  const result = await withCluster(
    NODES,
    load.sessions,
    (nodeId) => ({
      cgroupParent: budgets.member(nodeId).sandboxParent,
      sandboxCpus,
      onSpawn: (pid) => budgets.join(nodeId, pid),
      nodeArgs,
    }),
    (urls, postgres) => {
      const pid = postgres.pid();
      if (pid !== undefined) budgets.join('postgres', pid);
      return runLoad(urls, load, clusterMeter.hooks);
    },
  );
  return { result, loads: clusterMeter.loads() };
}

async function emulatedMachines(
  load: LoadOptions,
  budget: number,
  nodeArgs: readonly string[],
): Promise<void> {
  console.log(
    `Emulated machines: each control plane (its airlock serve and its sandboxes) capped at ${budget} core ` +
      'by a cgroup CPU quota, as if each ran on its own machine of that size; PostgreSQL and the load ' +
      'generator are not capped (the database has a machine of its own). One host emulating machines ' +
      'by CPU budget: the nodes still share its memory bandwidth, disks and kernel, and talk over loopback, ' +
      'not a network.',
  );
  const cores = cpus().length;
  if (NODES.length * budget >= cores) {
    console.log(`  skipped: ${NODES.length} budgets of ${budget} core do not leave room on ${cores} cores`);
    return;
  }
  let budgets: Budgets;
  try {
    budgets = await createBudgets([
      { name: 'single', cores: budget },
      ...NODES.map((name) => ({ name, cores: budget })),
      { name: 'postgres', cores: null },
    ]);
  } catch (error) {
    console.log(`  skipped: cannot create cgroups here (${(error as Error).message}); the bench needs root`);
    return;
  }
  try {
    console.log(`  (cgroup v${budgets.plan.version}, under ${budgets.plan.roots.join(', ')})`);
    // A machine of `budget` cores cannot give one sandbox more (and cgroup v1 refuses a child quota
    // above its parent's); `sleep` needs almost none, so both setups get the same, capped value.
    const sandboxCpus = Math.min(0.5, budget);
    const singleMeter = meter(budgets, ['single']);
    const single = await withSingle(
      load.sessions,
      {
        cgroupParent: budgets.member('single').sandboxParent,
        sandboxCpus,
        onSpawn: (pid) => budgets.join('single', pid),
      },
      (urls) => runLoad(urls, load, singleMeter.hooks),
    );
    report(`one ${budget}-core node, SQLite`, single);
    reportUsage(single, singleMeter.loads(), budget);
    const clustered = await budgetedCluster(budgets, load, sandboxCpus, nodeArgs);
    report(`three ${budget}-core nodes, one PostgreSQL`, clustered.result);
    reportUsage(clustered.result, clustered.loads, budget);
    // Each command straight to its session's node: what forwarding costs, by difference.
    const direct = await budgetedCluster(budgets, { ...load, toOwner: NODES }, sandboxCpus, nodeArgs);
    report(`  same, commands sent to their node`, direct.result);
    reportUsage(direct.result, direct.loads, budget);
    // Through the SDK, which learns each session's node from the answers and goes there.
    const following = await budgetedCluster(budgets, { ...load, sdk: true }, sandboxCpus, nodeArgs);
    report(`  same, SDK following its session`, following.result);
    reportUsage(following.result, following.loads, budget);
    const runs = [single, clustered.result, direct.result, following.result];
    const nodeLoads = [
      ...singleMeter.loads(),
      ...clustered.loads,
      ...direct.loads,
      ...following.loads,
    ].filter((member) => member.name !== 'postgres');
    // A node held at its quota nearly all the time was limited by its budget; one that was not was
    // held back by something else (the host's other work, the database, the load generator).
    const atBudget = nodeLoads.every((member) => member.throttledShare >= 0.9);
    const hostBusy = Math.max(...runs.map((result) => result.busy ?? 0));
    const ratio = (result: LoadResult): string =>
      `${(result.commandsPerS / single.commandsPerS).toFixed(2)}×`;
    console.log(
      `  throughput ratio (three ${budget}-core machines / one)  in turn ${ratio(clustered.result)}` +
        `, sent to their node ${ratio(direct.result)}, SDK following ${ratio(following.result)}; the target is 2.5×`,
    );
    console.log(
      atBudget
        ? '  every node was at its quota in at least 90% of periods: the budgets, not the host, were the limit'
        : `  a node was below its quota in over 10% of periods: something besides its budget held it back ` +
            `(the host was up to ${(hostBusy * 100).toFixed(0)}% busy, other work on it included), so the ratios are not the budgets' alone`,
    );
  } finally {
    await budgets.remove();
  }
}

export async function runClusterBench(options: ClusterBenchOptions): Promise<void> {
  const nodeArgs =
    options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`];
  const load = {
    sessions: options.sessions,
    commandsPerSession: options.commandsPerSession,
    command: COMMAND,
  };
  console.log(
    `Cluster: ${options.sessions} sessions at once, ${options.commandsPerSession} × \`${COMMAND}\` each, over HTTP, ` +
      `all on this machine's ${cpus().length} cores`,
  );
  await sharedCores(load, nodeArgs);
  console.log('');
  await emulatedMachines(load, options.machineCores, nodeArgs);
}
