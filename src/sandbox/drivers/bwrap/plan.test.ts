import { describe, expect, it } from 'vitest';
import type { SandboxSpec } from '../../types.ts';
import type { HostLayout, ProcMask } from '../../layout/index.ts';
import { planBwrap, planLauncher } from './plan.ts';

const spec: SandboxSpec = {
  image: 'host',
  memoryBytes: 256 << 20,
  cpus: 0.5,
  pids: 64,
  scratchBytes: 32 << 20,
  env: { GRANTED: '1' },
  timeoutMs: 1000,
};

const layout: HostLayout = {
  systemDirs: {
    '/usr': { kind: 'dir' },
    '/bin': { kind: 'symlink', target: 'usr/bin' },
    '/lib': { kind: 'symlink', target: 'usr/lib' },
    '/lib64': { kind: 'symlink', target: 'usr/lib64' },
    '/sbin': { kind: 'symlink', target: 'usr/sbin' },
    '/lib32': undefined,
  },
  etcEntries: ['ld.so.cache', 'ssl/certs'],
  rootEntries: {},
  etcFilesPresent: [],
  shell: { path: '/usr/bin/bash', args: ['--noprofile', '--norc', '-c'] },
};

const procMasks: ProcMask[] = [
  { path: '/proc/cmdline', kind: 'file' },
  { path: '/proc/kallsyms', kind: 'file' },
  { path: '/proc/acpi', kind: 'dir' },
];

/** The host paths a plan makes visible: the first operand of every bind (masks bind /dev/null). */
function boundSources(argv: string[]): string[] {
  const sources: string[] = [];
  argv.forEach((arg, index) => {
    if (arg === '--ro-bind' || arg === '--bind' || arg === '--dev-bind') sources.push(argv[index + 1] ?? '');
  });
  return sources.filter((source) => source !== '/dev/null');
}

describe('planBwrap', () => {
  const argv = planBwrap({ spec, bwrapPath: '/usr/bin/bwrap', layout, procMasks });

  it('asks for every namespace, no nested user namespaces, no capabilities and death with the parent', () => {
    for (const flag of [
      '--unshare-user',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-net',
      '--unshare-cgroup',
      '--disable-userns',
      '--die-with-parent',
      '--new-session',
      '--clearenv',
    ]) {
      expect(argv, flag).toContain(flag);
    }
    expect(argv.join(' ')).toContain('--cap-drop ALL');
    expect(argv).not.toContain('--share-net');
  });

  it("makes the supervisor the sandbox's pid 1, so no reaper of bwrap's holds the channel", () => {
    expect(argv).toContain('--as-pid-1');
    expect(argv.slice(-2)).toEqual(['/.airlock/supervisor', 'supervise']);
  });

  it('binds only system directories and allowlisted /etc entries, all read-only (adversarial: no host home)', () => {
    expect(boundSources(argv).sort()).toEqual(['/etc/ld.so.cache', '/etc/ssl/certs', '/usr']);
    expect(argv).not.toContain('--bind');
    for (const secret of ['/root', '/home', '/var', '/run', '/tmp', '/etc/shadow']) {
      expect(boundSources(argv)).not.toContain(secret);
    }
  });

  it('sizes every writable tmpfs, remounts the root read-only and installs the seccomp filter', () => {
    const joined = argv.join(' ');
    expect(joined).toContain(`--size ${spec.scratchBytes} --perms 1777 --tmpfs /tmp`);
    expect(joined).toContain(`--size ${spec.scratchBytes} --perms 0755 --tmpfs /workspace`);
    expect(joined).toContain(`--size ${spec.scratchBytes} --tmpfs /dev/shm`);
    expect(joined).toContain('--remount-ro /');
    expect(argv).toContain('--seccomp');
    expect(argv.slice(-3)).toEqual(['--', '/.airlock/supervisor', 'supervise']);
  });

  it('covers each host-describing /proc entry after the fresh /proc: files with /dev/null, directories with an empty tmpfs', () => {
    const joined = argv.join(' ');
    const proc = joined.indexOf('--proc /proc');
    expect(proc).toBeGreaterThan(0);
    for (const mask of [
      '--ro-bind /dev/null /proc/cmdline',
      '--ro-bind /dev/null /proc/kallsyms',
      '--tmpfs /proc/acpi --remount-ro /proc/acpi',
    ]) {
      expect(joined.indexOf(mask), mask).toBeGreaterThan(proc);
    }
    // /dev/null is the only source a mask binds (adversarial: nothing of the host is shown there).
    const maskSources = argv.flatMap((arg, index) =>
      arg === '--ro-bind' && argv[index + 2]?.startsWith('/proc/') ? [argv[index + 1]] : [],
    );
    expect(maskSources).toEqual(['/dev/null', '/dev/null']);
  });

  it('uses every top-level entry of a rootfs image read-only, except what Airlock mounts itself', () => {
    const image: HostLayout = {
      ...layout,
      rootEntries: {
        usr: { kind: 'dir' },
        etc: { kind: 'dir' },
        bin: { kind: 'symlink', target: 'usr/bin' },
        tmp: { kind: 'dir' },
        proc: { kind: 'dir' },
        workspace: { kind: 'dir' },
      },
      etcFilesPresent: ['/etc/passwd'],
    };
    const rootfs = planBwrap({
      spec: { ...spec, image: '/srv/images/debian' },
      bwrapPath: '/usr/bin/bwrap',
      layout: image,
      procMasks,
    });
    expect(boundSources(rootfs).sort()).toEqual(['/srv/images/debian/etc', '/srv/images/debian/usr']);
    expect(rootfs.join(' ')).toContain('--symlink usr/bin /bin');
    // Generated files only over files the read-only image already has.
    const dataTargets = rootfs.flatMap((arg, index) => (arg === '--ro-bind-data' ? [rootfs[index + 2]] : []));
    expect(dataTargets).toEqual(['/etc/passwd']);
  });
});

describe('planBwrap with egress', () => {
  const egress = {
    directory: '/run/airlock-egress/ab/ses_1',
    socket: 'proxy.sock',
    caCertificate: 'ca.pem',
    caBundle: 'ca-bundle.pem',
  };
  const withEgress = { ...spec, egress };
  const plan = (input: Partial<Parameters<typeof planBwrap>[0]>) =>
    planBwrap({ spec: withEgress, bwrapPath: '/usr/bin/bwrap', layout, procMasks, ...input });

  it('has no way out without egress: no egress mount, no bridge', () => {
    const plain = plan({ spec, systemCaBundle: true });
    expect(plain.join(' ')).not.toContain('/.airlock/egress');
    expect(plain).not.toContain('--egress-bridge');
    expect(plain).toContain('--unshare-net');
  });

  it('binds the egress directory and CA files read-only, and starts the bridge', () => {
    const argv = plan({ systemCaBundle: true });
    const joined = argv.join(' ');
    expect(joined).toContain(`--ro-bind ${egress.directory} /.airlock/egress`);
    expect(joined).toContain(`--ro-bind ${egress.directory}/ca.pem /.airlock/egress-ca.pem`);
    expect(joined).toContain(`--ro-bind ${egress.directory}/ca-bundle.pem /.airlock/egress-ca-bundle.pem`);
    expect(joined).toContain(
      `--ro-bind ${egress.directory}/ca-bundle.pem /etc/ssl/certs/ca-certificates.crt`,
    );
    // The network namespace stays private: the bridge is the only path out.
    expect(argv).toContain('--unshare-net');
    expect(argv.slice(-4)).toEqual([
      '/.airlock/supervisor',
      'supervise',
      '--egress-bridge',
      '3128:/.airlock/egress/proxy.sock',
    ]);
    // Adversarial: nothing above the session's own directory is bound.
    expect(boundSources(argv).filter((source) => source.startsWith('/run/'))).toEqual([
      egress.directory,
      `${egress.directory}/ca.pem`,
      `${egress.directory}/ca-bundle.pem`,
      `${egress.directory}/ca-bundle.pem`,
    ]);
    // The mounts come before the root is made read-only; the bundle after /etc is bound.
    const rootReadOnly = argv.findIndex((arg, index) => arg === '--remount-ro' && argv[index + 1] === '/');
    expect(argv.indexOf('/.airlock/egress')).toBeLessThan(rootReadOnly);
    expect(argv.indexOf('/etc/ssl/certs/ca-certificates.crt')).toBeGreaterThan(
      argv.lastIndexOf('/etc/ssl/certs'),
    );
  });

  it('leaves the system bundle alone without secrets or where the image has none', () => {
    const noSecrets = plan({
      spec: { ...spec, egress: { directory: egress.directory, socket: 'proxy.sock' } },
      systemCaBundle: true,
    });
    expect(noSecrets.join(' ')).not.toContain('ca-certificates.crt');
    expect(noSecrets.join(' ')).not.toContain('egress-ca');
    expect(plan({}).join(' ')).not.toContain('ca-certificates.crt');
  });
});

describe('planLauncher', () => {
  it('passes no host environment, joins the cgroups and drops to the host ids', () => {
    const plan = planLauncher({
      helperPath: '/opt/airlock/build/airlock-helper',
      cgroupProcsFiles: [
        '/sys/fs/cgroup/memory/airlock/1-a/cgroup.procs',
        '/sys/fs/cgroup/pids/airlock/1-a/cgroup.procs',
      ],
      hostIds: { uid: 65534, gid: 65534 },
      seccompFilter: Buffer.from([1, 2, 3]),
    });
    expect(plan.env).toEqual({});
    expect(plan.args).toEqual([
      'launch',
      '--cgroup-procs',
      '/sys/fs/cgroup/memory/airlock/1-a/cgroup.procs',
      '--cgroup-procs',
      '/sys/fs/cgroup/pids/airlock/1-a/cgroup.procs',
      '--uid',
      '65534',
      '--gid',
      '65534',
      '--instructions',
      '3',
    ]);
    expect(plan.fds.map(({ fd }) => fd)).toEqual([...plan.fds.keys()].map((index) => index + 3));
  });
});
