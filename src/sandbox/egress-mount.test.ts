import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { egressBridgeArgs, egressMounts, grantEgressAccess, validateEgress } from './egress-mount.ts';

const dir = mkdtempSync(join(tmpdir(), 'airlock-egress-mount-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sandbox egress', () => {
  const egress = { directory: '/run/airlock-egress/ab/ses_1', socket: 'proxy.sock' };

  it('refuses names that could lead out of the session directory (adversarial)', () => {
    const bad = ['../proxy.sock', 'a/b', '.hidden', '', 'x'.repeat(65)];
    expect(bad.length).toBeGreaterThan(0);
    for (const socket of bad)
      expect(() => validateEgress({ ...egress, socket }), socket).toThrow(/plain file name/);
    expect(() => validateEgress({ ...egress, caCertificate: '../../etc/shadow', caBundle: 'b.pem' })).toThrow(
      /plain file name/,
    );
    expect(() => validateEgress({ ...egress, directory: 'relative' })).toThrow(/absolute/);
    expect(() => validateEgress({ ...egress, caCertificate: 'ca.pem' })).toThrow(/go together/);
  });

  it('mounts the directory, and the CA files only with secrets', () => {
    expect(egressMounts(undefined, true)).toEqual([]);
    expect(egressMounts(egress, true).map((mount) => mount.destination)).toEqual(['/.airlock/egress']);
    const withCa = egressMounts({ ...egress, caCertificate: 'ca.pem', caBundle: 'ca-bundle.pem' }, false);
    expect(withCa.map((mount) => mount.destination)).toEqual([
      '/.airlock/egress',
      '/.airlock/egress-ca.pem',
      '/.airlock/egress-ca-bundle.pem',
    ]);
    expect(egressBridgeArgs(egress)).toEqual(['--egress-bridge', '3128:/.airlock/egress/proxy.sock']);
    expect(egressBridgeArgs(undefined)).toEqual([]);
  });

  // Only root gives a directory to another gid; without root sessions share the control plane's uid.
  it.skipIf(process.getuid?.() !== 0)("lets only the session's gid into its directory (as root)", () => {
    const session = join(dir, 'ses_1');
    mkdirSync(session, { mode: 0o700 });
    grantEgressAccess({ directory: session, socket: 'proxy.sock' }, 201_234);
    const stats = lstatSync(session);
    expect(stats.mode & 0o777).toBe(0o750);
    expect(stats.gid).toBe(201_234);
    chmodSync(session, 0o700);
  });

  it('refuses a symlink planted in place of the directory (adversarial)', () => {
    const planted = join(dir, 'planted');
    symlinkSync(dir, planted);
    expect(() => grantEgressAccess({ directory: planted, socket: 'proxy.sock' }, 201_234)).toThrow(
      /not a directory/,
    );
    expect(lstatSync(dir).mode & 0o777).not.toBe(0o750);
  });
});
