/**
 * CPU budgets that stand in for separate machines in the cluster bench: one cgroup per member (a
 * control plane with its sandboxes, or PostgreSQL), a CFS quota on the control planes' cgroups, and
 * CPU accounting on every member. Laid out alike on cgroup v1 and v2:
 *
 *   <group>/<member>              the budget: cpu.cfs_quota_us (v1) or cpu.max (v2); usage; throttling
 *   <group>/<member>/main         the member's own processes (on v2 a cgroup with children must hold
 *                                 none itself, so they cannot sit in <member>)
 *   <group>/<member>/sandboxes    the node's `sandbox.cgroupParent`: its sessions' cgroups go below,
 *                                 inside the budget, and the node's start-up sweep sees only them
 *
 * On v1 every controller is its own hierarchy, and the sandbox driver creates its parent in each one
 * it uses (memory, pids, cpu, cpuacct, freezer), so the tree is made in each hierarchy and removed from
 * each. Only paths below `<group>` are ever removed, and `<group>` carries this process's PID and a
 * random suffix, so nothing the bench did not make is touched.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuPeriodUs, readCgroupLayout, type CgroupLayout } from '../src/sandbox/cgroups/index.ts';

export interface BudgetMember {
  readonly name: string;
  /** Cores the member may use (a CFS quota), or null for accounting only. */
  readonly cores: number | null;
}

export interface BudgetWrite {
  readonly path: string;
  /** `+cpu`-style tokens are written only when the file does not list the controller yet. */
  readonly kind: 'set' | 'enable';
  readonly value: string;
}

export interface MemberPlan {
  readonly name: string;
  readonly cores: number | null;
  /** `sandbox.cgroupParent` for a node in this member: relative to every hierarchy's root. */
  readonly sandboxParent: string;
  /** Where the member's processes go: one `cgroup.procs` per hierarchy that limits or counts CPU. */
  readonly procsFiles: readonly string[];
  /** cpuacct.usage (v1, ns) or cpu.stat (v2, usage_usec): CPU used by the member and its children. */
  readonly usage: { readonly path: string; readonly unit: 'ns' | 'cpu.stat' };
  /** cpu.stat with nr_periods and nr_throttled: how often the quota held the member back. */
  readonly throttleStat: string;
}

export interface BudgetPlan {
  readonly version: 1 | 2;
  /** `<hierarchy>/<group>` per hierarchy: everything the bench creates is below these. */
  readonly roots: readonly string[];
  /** Directories to create, parents first. */
  readonly dirs: readonly string[];
  readonly writes: readonly BudgetWrite[];
  readonly members: readonly MemberPlan[];
}

/** What the bench creates for `members` under `group`. Pure: `createBudgets` does the I/O. */
export function planBudgets(
  layout: CgroupLayout,
  group: string,
  members: readonly BudgetMember[],
): BudgetPlan {
  const hierarchies =
    layout.version === 2 ? [layout.mount] : [...new Set(Object.values(layout.mounts) as string[])];
  const cpuMount = layout.version === 2 ? layout.mount : layout.mounts.cpu;
  const acctMount = layout.version === 2 ? layout.mount : layout.mounts.cpuacct;
  const roots = hierarchies.map((mount) => join(mount, group));
  const dirs = roots.flatMap((root) => [
    root,
    ...members.flatMap((member) => [
      join(root, member.name),
      join(root, member.name, 'main'),
      join(root, member.name, 'sandboxes'),
    ]),
  ]);
  const writes: BudgetWrite[] = [];
  if (layout.version === 2) {
    // A quota on <member> needs the cpu controller enabled in every cgroup above it; the sandbox
    // driver enables memory and pids itself where its sessions need them.
    writes.push({ kind: 'enable', path: join(layout.mount, 'cgroup.subtree_control'), value: 'cpu' });
    writes.push({ kind: 'enable', path: join(layout.mount, group, 'cgroup.subtree_control'), value: 'cpu' });
  }
  for (const member of members) {
    if (member.cores === null) continue;
    const quotaUs = String(Math.max(1_000, Math.round(member.cores * cpuPeriodUs)));
    const dir = join(cpuMount, group, member.name);
    if (layout.version === 2) {
      writes.push({ kind: 'set', path: join(dir, 'cpu.max'), value: `${quotaUs} ${cpuPeriodUs}` });
    } else {
      // Period before quota: the quota is read against the period in force.
      writes.push({ kind: 'set', path: join(dir, 'cpu.cfs_period_us'), value: String(cpuPeriodUs) });
      writes.push({ kind: 'set', path: join(dir, 'cpu.cfs_quota_us'), value: quotaUs });
    }
  }
  return {
    version: layout.version,
    roots,
    dirs,
    writes,
    members: members.map((member) => ({
      name: member.name,
      cores: member.cores,
      sandboxParent: `${group}/${member.name}/sandboxes`,
      procsFiles: [...new Set([cpuMount, acctMount])].map((mount) =>
        join(mount, group, member.name, 'main', 'cgroup.procs'),
      ),
      usage:
        layout.version === 2
          ? { path: join(acctMount, group, member.name, 'cpu.stat'), unit: 'cpu.stat' }
          : { path: join(acctMount, group, member.name, 'cpuacct.usage'), unit: 'ns' },
      throttleStat: join(cpuMount, group, member.name, 'cpu.stat'),
    })),
  };
}

/** CPU a member used and how often its quota stopped it, at one moment. */
export interface MemberUsage {
  readonly coreS: number;
  readonly periods: number;
  readonly throttled: number;
}

export interface Budgets {
  readonly plan: BudgetPlan;
  member(name: string): MemberPlan;
  /** Moves a process, and the children it already has, into the member's budget. */
  join(name: string, pid: number): void;
  usage(name: string): MemberUsage;
  /** Removes every cgroup the bench made, stopping what a stopped node left running in them. */
  remove(): Promise<void>;
}

function statField(text: string, key: string): number {
  const line = text.split('\n').find((entry) => entry.startsWith(`${key} `));
  return Number(line?.split(' ')[1] ?? 0);
}

/** PIDs whose parent is `pid`, from /proc: processes a member started before it was moved. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name in parentheses may hold spaces: fields are counted after its closing paren.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return children;
}

function enable(path: string, controller: string): void {
  const enabled = readFileSync(path, 'utf8').split(/\s+/);
  if (!enabled.includes(controller)) writeFileSync(path, `+${controller}`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Removes `dir` and its children bottom-up; processes still inside are killed (they are the bench's). */
async function removeTree(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const failed: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) failed.push(...(await removeTree(join(dir, entry.name))));
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      rmdirSync(dir);
      return failed;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return failed;
      if (code !== 'EBUSY' || attempt === 49) return [...failed, `${dir} (${code})`];
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await sleep(100);
    }
  }
  return failed;
}

/**
 * Creates the budgets, or throws with the reason they cannot exist here (then nothing is left
 * behind). Needs write access to the cgroup hierarchies: root, in practice.
 */
export async function createBudgets(members: readonly BudgetMember[]): Promise<Budgets> {
  const layout = await readCgroupLayout();
  const group = `airlock-bench-${process.pid}-${randomBytes(4).toString('hex')}`;
  const plan = planBudgets(layout, group, members);
  const remove = async (): Promise<void> => {
    const failed: string[] = [];
    for (const root of plan.roots) failed.push(...(await removeTree(root)));
    if (failed.length > 0) throw new Error(`could not remove the bench's cgroups: ${failed.join(', ')}`);
  };
  try {
    for (const dir of plan.dirs) mkdirSync(dir);
    for (const write of plan.writes) {
      if (write.kind === 'enable') enable(write.path, write.value);
      else writeFileSync(write.path, write.value);
    }
  } catch (error) {
    await remove();
    throw error;
  }
  const member = (name: string): MemberPlan => {
    const found = plan.members.find((candidate) => candidate.name === name);
    if (found === undefined) throw new Error(`no budget named ${name}`);
    return found;
  };
  const joinOne = (procsFiles: readonly string[], pid: number): void => {
    for (const file of procsFiles) writeFileSync(file, String(pid));
  };
  return {
    plan,
    member,
    join(name, pid) {
      const { procsFiles } = member(name);
      joinOne(procsFiles, pid);
      // Moving a process leaves its existing children where they were; new ones follow it.
      const pending = childrenOf(pid);
      for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
        joinOne(procsFiles, next);
        pending.push(...childrenOf(next));
      }
    },
    usage(name) {
      const { usage, throttleStat } = member(name);
      const text = readFileSync(usage.path, 'utf8');
      const coreS = usage.unit === 'ns' ? Number(text.trim()) / 1e9 : statField(text, 'usage_usec') / 1e6;
      const throttle = readFileSync(throttleStat, 'utf8');
      return {
        coreS,
        periods: statField(throttle, 'nr_periods'),
        throttled: statField(throttle, 'nr_throttled'),
      };
    },
    remove,
  };
}
