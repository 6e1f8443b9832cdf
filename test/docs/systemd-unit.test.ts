/**
 * contrib/systemd/airlock.service: systemd accepts it, and its hardening leaves a sandbox working.
 * systemd is not PID 1 where these tests run, so the hardening is emulated with a private mount
 * namespace and setpriv (test/docs/fixtures/emulate-unit-hardening.sh); a test checks that every
 * hardening option of the unit is one the emulation covers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const unitPath = join(root, 'contrib', 'systemd', 'airlock.service');
const unit = readFileSync(unitPath, 'utf8');

function onPath(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { shell: false }).status === 0;
}

const noSystemdAnalyze = !onPath('systemd-analyze');
const cannotEmulate =
  process.getuid?.() !== 0 ||
  !onPath('unshare') ||
  !onPath('setpriv') ||
  ['/usr/bin/bwrap', '/usr/local/bin/bwrap'].every((path) => !existsSync(path));

/** `Key=value` lines of the [Service] section, in order. */
function serviceSettings(): Array<[string, string]> {
  const section = unit.slice(unit.indexOf('[Service]'), unit.indexOf('[Install]'));
  return section
    .split('\n')
    .filter((line) => /^[A-Za-z]+=/.test(line))
    .map((line) => {
      const cut = line.indexOf('=');
      return [line.slice(0, cut), line.slice(cut + 1)];
    });
}

/** The unit as installed from this checkout: /opt/airlock replaced by the repository's path. */
function installedUnit(): string {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-unit-'));
  const path = join(dir, 'airlock.service');
  writeFileSync(path, unit.replaceAll('/opt/airlock', root));
  return path;
}

/** The hardening options the emulation reproduces; the unit may use no other. */
const EMULATED = [
  'NoNewPrivileges',
  'ProtectSystem',
  'ProtectHome',
  'PrivateTmp',
  'PrivateDevices',
  'CapabilityBoundingSet',
];

describe('contrib/systemd/airlock.service', () => {
  it.skipIf(noSystemdAnalyze)('passes systemd-analyze verify (every key known, the command present)', () => {
    const path = installedUnit();
    try {
      const result = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8', shell: false });
      expect(`${result.stdout}${result.stderr}`).toBe('');
      expect(result.status).toBe(0);
    } finally {
      rmSync(join(path, '..'), { recursive: true, force: true });
    }
  });

  it('uses only hardening options the emulation below reproduces, and none that break bwrap', () => {
    const keys = serviceSettings().map(([key]) => key);
    const hardening = keys.filter((key) =>
      /^(Protect|Private|Restrict|NoNew|Capability|SystemCall|Lock|Memory)/.test(key),
    );
    expect(hardening.sort()).toEqual([...EMULATED].sort());
    // Each of these overmounts /proc (or locks the cgroup fs, or refuses namespaces): bwrap cannot
    // then mount a fresh /proc, or Airlock cannot make session cgroups. See docs/operations.md.
    for (const breaking of [
      'ProtectKernelTunables',
      'ProtectKernelLogs',
      'ProtectProc',
      'ProcSubset',
      'ProtectControlGroups',
      'RestrictNamespaces',
    ]) {
      expect(keys).not.toContain(breaking);
    }
  });

  it.skipIf(cannotEmulate)('leaves the bwrap sandbox working under its hardening (emulated)', () => {
    const settings = new Map(serviceSettings());
    expect(settings.get('ProtectSystem')).toBe('strict');
    const dropped = (settings.get('CapabilityBoundingSet') ?? '').replace(/^~/, '').split(/\s+/);
    expect(dropped.length).toBeGreaterThan(5);
    const state = mkdtempSync(join('/var/tmp', 'airlock-unit-state-'));
    try {
      const result = spawnSync(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          join(root, 'test/docs/fixtures/emulate-unit-hardening.sh'),
        ],
        {
          encoding: 'utf8',
          shell: false,
          timeout: 60_000,
          env: {
            PATH: process.env['PATH'] ?? '/usr/bin:/bin',
            STATE: state,
            NODE: process.execPath,
            BIN: join(root, 'bin', 'airlock.js'),
            ROOT: root,
            DRIVER: 'bwrap',
            DROP: dropped.map((cap) => `-${cap.replace(/^CAP_/, '').toLowerCase()}`).join(','),
          },
        },
      );
      expect(result.stderr).not.toMatch(/emulation failed|did not start|Cannot create/);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^sandbox ok\n1000\n/);
      expect(result.stdout).toContain('NoNewPrivs:\t1');
      expect(result.stdout).toMatch(/Read-only file system/);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});
