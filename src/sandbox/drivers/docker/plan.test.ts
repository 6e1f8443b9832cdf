import { describe, expect, it } from 'vitest';
import type { SandboxSpec } from '../../types.ts';
import { gvisorHostPidsLimit } from '../gvisor/index.ts';
import { maskedProcPaths, maskedSysPaths } from '../../layout/index.ts';
import { dockerSeccompProfile, labelKeys, planContainer } from './plan.ts';
import type { ContainerPlanInput } from './plan.ts';

const spec: SandboxSpec = {
  image: 'host',
  memoryBytes: 256 << 20,
  cpus: 0.5,
  pids: 64,
  scratchBytes: 32 << 20,
  env: { GRANTED: '1' },
  timeoutMs: 1000,
};

const input: ContainerPlanInput = {
  spec,
  name: 'airlock-1-ab',
  id: 'ab',
  session: '1-ab',
  host: 'host-a',
  state: '/var/lib/airlock',
  image: 'airlock/base:1',
  runtime: 'runc',
  sharedVolume: 'airlock-shared-1-cd',
  etcFiles: [
    { source: '/var/lib/docker/volumes/airlock-shared-1-cd/_data/etc_passwd', destination: '/etc/passwd' },
  ],
  dockerSeccompProfile: dockerSeccompProfile(),
  hostIds: { uid: 201_234, gid: 201_234 },
};

describe('planContainer with egress', () => {
  const egress = {
    directory: '/run/airlock-egress/ab/ses_1',
    socket: 'proxy.sock',
    caCertificate: 'ca.pem',
    caBundle: 'ca-bundle.pem',
  };
  const plan = planContainer({ ...input, spec: { ...spec, egress } });

  it('binds the egress directory and CA bundle read-only, keeps network none, and starts the bridge', () => {
    expect(plan.HostConfig?.NetworkMode).toBe('none');
    expect(plan.NetworkDisabled).toBe(true);
    expect(plan.HostConfig?.Mounts).toEqual(
      expect.arrayContaining([
        { Type: 'bind', Source: egress.directory, Target: '/.airlock/egress', ReadOnly: true },
        {
          Type: 'bind',
          Source: `${egress.directory}/ca.pem`,
          Target: '/.airlock/egress-ca.pem',
          ReadOnly: true,
        },
        {
          Type: 'bind',
          Source: `${egress.directory}/ca-bundle.pem`,
          Target: '/etc/ssl/certs/ca-certificates.crt',
          ReadOnly: true,
        },
      ]),
    );
    expect(plan.Cmd?.slice(-2)).toEqual(['--egress-bridge', '3128:/.airlock/egress/proxy.sock']);
  });

  it('mounts nothing of egress without it', () => {
    const plain = planContainer(input);
    expect(JSON.stringify(plain)).not.toContain('egress');
  });
});

describe('planContainer', () => {
  const plan = planContainer(input);
  const host = plan.HostConfig!;

  it("keeps the seed's settings as the floor", () => {
    expect(host).toMatchObject({
      NetworkMode: 'none',
      Memory: spec.memoryBytes,
      MemorySwap: spec.memoryBytes,
      NanoCpus: 500_000_000,
      PidsLimit: 64,
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      IpcMode: 'private',
      CgroupnsMode: 'private',
    });
    expect(host.SecurityOpt).toContain('no-new-privileges:true');
    expect(host.Tmpfs?.['/tmp']).toContain(`size=${spec.scratchBytes}`);
    // The session's own host uid, never host root, and the agent's inside (see the next test).
    expect(host.Tmpfs?.['/workspace']).toContain('uid=201234,gid=201234');
    expect(plan.User).toBe('201234:201234');
    expect(plan.Env).toEqual([]);
    expect(plan.NetworkDisabled).toBe(true);
  });

  it('labels the container for the sweep and mounts only the shared volume and its files, read-only', () => {
    expect(plan.Labels).toEqual({
      [labelKeys.sandbox]: 'ab',
      [labelKeys.session]: '1-ab',
      [labelKeys.host]: 'host-a',
      [labelKeys.state]: '/var/lib/airlock',
    });
    expect(host.Binds).toEqual([
      '/var/lib/docker/volumes/airlock-shared-1-cd/_data/etc_passwd:/etc/passwd:ro',
    ]);
    expect(host.Mounts).toEqual([
      { Type: 'volume', Source: 'airlock-shared-1-cd', Target: '/.airlock', ReadOnly: true },
    ]);
    expect(plan.Entrypoint).toEqual(['/.airlock/supervisor']);
    expect(plan.Cmd).toEqual(expect.arrayContaining(['--seccomp', '/.airlock/seccomp.bpf']));
  });

  it("masks the host's kernel files in /proc and /sys, beyond Docker's defaults, and keeps its read-only ones", () => {
    const masked = (host as { MaskedPaths?: string[] }).MaskedPaths ?? [];
    expect(masked).toEqual([...maskedProcPaths, ...maskedSysPaths]);
    // Docker's own defaults stay masked (giving the list replaces them), plus what the host leaked.
    for (const path of [
      '/proc/acpi',
      '/proc/kcore',
      '/proc/keys',
      '/proc/timer_list',
      '/proc/sched_debug',
      '/proc/scsi',
      '/sys/firmware',
      '/proc/cmdline',
      '/proc/kallsyms',
      '/sys/kernel',
    ]) {
      expect(masked, path).toContain(path);
    }
    expect((host as { ReadonlyPaths?: string[] }).ReadonlyPaths).toContain('/proc/sys');
  });

  it("asks the supervisor for a user namespace under runc only, showing the session's uid as the agent's", () => {
    expect(plan.Cmd).toEqual(expect.arrayContaining(['--userns', '1000:1000']));
    expect(planContainer({ ...input, runtime: 'runsc' }).Cmd).not.toContain('--userns');
  });

  it("under runsc adds the sentry's share to the cgroup and holds processes with nproc", () => {
    const gvisor = planContainer({ ...input, runtime: 'runsc' }).HostConfig!;
    expect(gvisor.Runtime).toBe('runsc');
    expect(gvisor.PidsLimit).toBe(gvisorHostPidsLimit(spec.pids));
    expect(gvisor.Ulimits).toEqual([{ Name: 'nproc', Soft: 64, Hard: 64 }]);
    // The supervisor starts as the sentry's root with three capabilities, prunes /dev, then drops all.
    const runsc = planContainer({ ...input, runtime: 'runsc' });
    expect(runsc.User).toBe('0:0');
    expect(gvisor.CapAdd?.sort()).toEqual(['KILL', 'SETGID', 'SETPCAP', 'SETUID']);
    expect(runsc.Cmd).toEqual(expect.arrayContaining(['--remove', '/dev/fuse', '--user', '1000:1000']));
    expect(host.CapAdd).toBeUndefined();
    // Under runc nproc counts the session's own host uid, so it is the session's limit too.
    expect(host.Ulimits).toEqual([{ Name: 'nproc', Soft: 64, Hard: 64 }]);
  });

  it('refuses nothing the supervisor needs before its own filter, and the classic escapes (adversarial)', () => {
    const profile = JSON.parse(dockerSeccompProfile()) as { syscalls: { names: string[] }[] };
    const refused = profile.syscalls.flatMap((rule) => rule.names);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused).not.toContain('unshare');
    for (const name of ['mount', 'ptrace', 'bpf', 'setns', 'keyctl', 'open_by_handle_at'])
      expect(refused).toContain(name);
  });
});
