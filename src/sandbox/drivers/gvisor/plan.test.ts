import { describe, expect, it } from 'vitest';
import type { SandboxSpec } from '../../types.ts';
import {
  GVISOR_MEMORY_OVERHEAD_BYTES,
  gvisorHostPidsLimit,
  hostLimitsFor,
  planOciConfig,
  planParkedLauncher,
  planRunscRun,
  runscCommand,
} from './plan.ts';

const spec: SandboxSpec = {
  image: 'host',
  memoryBytes: 256 << 20,
  cpus: 0.5,
  pids: 64,
  scratchBytes: 32 << 20,
  env: { GRANTED: '1' },
  timeoutMs: 1000,
};

const config = planOciConfig({
  spec,
  rootfsDir: '/state/gvisor/images/1-ab/root',
  binds: [{ source: '/usr', destination: '/usr' }],
});

describe('planOciConfig with egress', () => {
  const egress = {
    directory: '/run/airlock-egress/ab/ses_1',
    socket: 'proxy.sock',
    caCertificate: 'ca.pem',
    caBundle: 'ca-bundle.pem',
  };
  const withEgress = planOciConfig({
    spec: { ...spec, egress },
    rootfsDir: '/r',
    binds: [],
    systemCaBundle: true,
  });

  it('mounts the egress directory read-only, the bundle over the system one, and starts the bridge', () => {
    expect(withEgress.mounts).toEqual(
      expect.arrayContaining([
        {
          destination: '/.airlock/egress',
          type: 'bind',
          source: egress.directory,
          options: expect.arrayContaining(['ro']),
        },
        {
          destination: '/.airlock/egress-ca.pem',
          type: 'bind',
          source: `${egress.directory}/ca.pem`,
          options: expect.arrayContaining(['ro']),
        },
        {
          destination: '/etc/ssl/certs/ca-certificates.crt',
          type: 'bind',
          source: `${egress.directory}/ca-bundle.pem`,
          options: expect.arrayContaining(['ro']),
        },
      ]),
    );
    expect(withEgress.process.args.slice(-2)).toEqual([
      '--egress-bridge',
      '3128:/.airlock/egress/proxy.sock',
    ]);
    // The sentry's own network namespace: only loopback.
    expect(withEgress.linux.namespaces).toContainEqual({ type: 'network' });
  });

  it('has no egress mount or bridge without egress, and host sockets only for sandboxes with it', () => {
    expect(config.mounts.map((mount) => mount.destination)).not.toContain('/.airlock/egress');
    expect(config.process.args).not.toContain('--egress-bridge');
    const base = {
      runscPath: '/usr/bin/runsc',
      stateRoot: '/s',
      platform: 'systrap' as const,
      bundleDir: '/b',
      containerId: 'c',
    };
    expect(planRunscRun(base)).not.toContain('--host-uds=open');
    expect(planRunscRun({ ...base, egress: true })).toContain('--host-uds=open');
    expect(planRunscRun({ ...base, egress: true })).toContain('--network=none');
  });
});

describe('planOciConfig', () => {
  it('starts the supervisor with a read-only root, no environment and every privilege it drops', () => {
    expect(config.root).toEqual({ path: '/state/gvisor/images/1-ab/root', readonly: true });
    expect(config.process.env).toEqual([]);
    expect(config.process.noNewPrivileges).toBe(true);
    expect(config.process.args.slice(0, 2)).toEqual(['/.airlock/supervisor', 'confine']);
    expect(config.process.args).toEqual(expect.arrayContaining(['--user', '1000:1000', '--seccomp']));
    expect(config.process.capabilities.ambient).toEqual([]);
    expect(config.process.capabilities.inheritable).toEqual([]);
    // Only what the supervisor needs to switch to the agent's uid, which then drops all of them.
    expect(config.process.capabilities.bounding.sort()).toEqual([
      'CAP_KILL',
      'CAP_SETGID',
      'CAP_SETPCAP',
      'CAP_SETUID',
    ]);
    expect(config.hostname).toBe('airlock');
  });

  it('binds host directories read-only and gives sized tmpfs scratch as the only writable places', () => {
    const usr = config.mounts.find((mount) => mount.destination === '/usr');
    expect(usr?.options).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev']));
    for (const destination of ['/tmp', '/workspace', '/dev/shm']) {
      const mount = config.mounts.find((entry) => entry.destination === destination);
      expect(mount?.type, destination).toBe('tmpfs');
      expect(mount?.options).toContain(`size=${spec.scratchBytes}`);
    }
    const writable = config.mounts.filter(
      (mount) => mount.type === 'bind' && !(mount.options ?? []).includes('ro'),
    );
    expect(writable).toEqual([]);
  });

  it('limits processes inside the sentry with RLIMIT_NPROC and removes the devices gVisor adds', () => {
    expect(config.process.rlimits).toContainEqual({ type: 'RLIMIT_NPROC', hard: 64, soft: 64 });
    expect(config.process.args).toEqual(expect.arrayContaining(['--remove', '/dev/fuse']));
  });

  it('refuses to be talked into a host path as scratch (adversarial: a bind hidden among the tmpfs mounts)', () => {
    const sneaky = planOciConfig({
      spec,
      rootfsDir: '/r',
      binds: [{ source: '/home', destination: '/workspace' }],
    });
    // The tmpfs for /workspace comes after every bind, so it covers anything bound there.
    const workspace = sneaky.mounts.map((mount) => mount.destination).lastIndexOf('/workspace');
    expect(sneaky.mounts[workspace]?.type).toBe('tmpfs');
  });
});

describe('runsc arguments and host limits', () => {
  it('runs with no network, without runsc touching cgroups, and without a writable overlay', () => {
    const argv = planRunscRun({
      runscPath: '/usr/bin/runsc',
      stateRoot: '/state/runsc',
      platform: 'systrap',
      bundleDir: '/state/b',
      containerId: 'airlock-1-ab',
    });
    expect(argv).toEqual([
      '/usr/bin/runsc',
      '--root=/state/runsc',
      '--platform=systrap',
      '--network=none',
      '--ignore-cgroups',
      '--overlay2=none',
      'run',
      '--bundle=/state/b',
      'airlock-1-ab',
    ]);
  });

  it('parks a launcher that joins every cgroup before it reads what to run, with no environment', () => {
    const plan = planParkedLauncher({
      helperPath: '/opt/airlock-helper',
      cgroupProcsFiles: ['/sys/fs/cgroup/memory/a/cgroup.procs', '/sys/fs/cgroup/pids/a/cgroup.procs'],
      platform: 'systrap',
    });
    expect(plan.file).toBe('/opt/airlock-helper');
    expect(plan.args).toEqual([
      'launch',
      '--cgroup-procs',
      '/sys/fs/cgroup/memory/a/cgroup.procs',
      '--cgroup-procs',
      '/sys/fs/cgroup/pids/a/cgroup.procs',
      '--no-membarrier-registration',
      '--instructions',
      '3',
    ]);
    expect(plan.env).toEqual({});
    expect(plan.fds).toEqual([{ fd: 3, source: { kind: 'instructions' } }]);
  });

  it('spares runsc the membarrier registration on every platform but KVM, the one that uses it', () => {
    const launcherArgs = (platform: 'systrap' | 'ptrace' | 'kvm') =>
      planParkedLauncher({ helperPath: '/h', cgroupProcsFiles: [], platform }).args;
    expect(launcherArgs('ptrace')).toContain('--no-membarrier-registration');
    expect(launcherArgs('kvm')).not.toContain('--no-membarrier-registration');

    expect(runscCommand({ helperPath: '/h', runscPath: '/usr/bin/runsc', platform: 'systrap' })).toEqual([
      '/h',
      'launch',
      '--no-membarrier-registration',
      '--',
      '/usr/bin/runsc',
    ]);
    expect(runscCommand({ helperPath: '/h', runscPath: '/usr/bin/runsc', platform: 'kvm' })).toEqual([
      '/usr/bin/runsc',
    ]);
  });

  it("adds the sentry's own share to memory and tasks, never to CPU", () => {
    expect(hostLimitsFor(spec)).toEqual({
      memoryBytes: spec.memoryBytes + GVISOR_MEMORY_OVERHEAD_BYTES,
      cpus: spec.cpus,
      // Two host tasks per sandbox task (systrap's stub process and thread), plus the sentry's 256.
      pids: 64 * 2 + 256,
    });
  });

  it("keeps the host's task limit above what gVisor's own limit lets the sandbox's tasks cost", () => {
    const plan = planOciConfig({ spec, rootfsDir: '/r', binds: [] });
    const nproc = plan.process.rlimits.find((limit) => limit.type === 'RLIMIT_NPROC');
    expect(nproc).toEqual({ type: 'RLIMIT_NPROC', hard: spec.pids, soft: spec.pids });
    for (const pids of [1, 48, 256, 4096]) {
      expect(gvisorHostPidsLimit(pids), `pids ${pids}`).toBeGreaterThanOrEqual(2 * pids + 256);
    }
  });
});
