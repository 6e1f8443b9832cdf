/**
 * `airlock audit key` and the signed side of `airlock audit verify` against a store a real control
 * plane wrote: a public key kept elsewhere, a chain rebuilt without the key, a key file others can
 * read, and a witness file named in airlock.yaml.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAirlock, isAirlockError } from '../../src/index.ts';
import { rewriteChain } from '../../src/store/audit-test-support.ts';
import { runCli } from '../support/cli.ts';
import type { CliRun } from '../support/cli.ts';
import { bwrapMissing, closeAfterTest, envFor, newHome } from './cli-process.ts';

function airlock(args: string[], home: string): Promise<CliRun> {
  return runCli(args, { cwd: home, env: envFor(home) });
}

/** A store with a few commands, its control plane closed (so its head is signed). */
async function signedLog(config: unknown = {}) {
  const home = newHome();
  const plane = await createAirlock({ home, env: { HOME: home }, crossCheck: false, config });
  closeAfterTest(plane);
  const session = await plane.sessions.create();
  await session.run('echo one');
  await session.run('echo two');
  await plane.close();
  return { home, count: await eventCount(home) };
}

/** Events in the store now (closing a control plane records its sessions ending). */
async function eventCount(home: string): Promise<number> {
  return (await airlock(['audit', 'export'], home)).stdout.trimEnd().split('\n').length;
}

describe('airlock audit key', () => {
  it('prints the public key and fingerprint, the same on every run, and never the private key', async () => {
    const home = newHome();
    const first = await airlock(['audit', 'key'], home);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\nfingerprint: sha256:[0-9a-f]{64}\n$/,
    );
    expect(first.stderr).toContain(`created the audit signing key ${join(home, 'audit-key')}`);
    const second = await airlock(['audit', 'key'], home);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toBe('');
    expect(`${first.stdout}${first.stderr}`).not.toContain('PRIVATE');
  });
});

describe.skipIf(bwrapMissing)('airlock audit verify with signed checkpoints', () => {
  it('checks signatures with a public key kept elsewhere, and refuses one that did not sign (adversarial)', async () => {
    const { home, count } = await signedLog();
    const kept = join(home, 'auditor-copy.pub');
    writeFileSync(kept, (await airlock(['audit', 'key'], home)).stdout);
    const verified = await airlock(['audit', 'verify', '--public-key', kept], home);
    expect(verified.exitCode).toBe(0);
    expect(verified.stdout).toContain(
      `signatures: 1 checkpoint verified with --public-key ${kept}; the newest covers events 1..${count}\n`,
    );

    const stranger = join(home, 'stranger.pub');
    const strangerHome = newHome();
    writeFileSync(stranger, (await airlock(['audit', 'key'], strangerHome)).stdout);
    const refused = await airlock(['audit', 'verify', '--public-key', stranger], home);
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toMatch(/^FAILED at seq \d+ \(untrusted-key\): checkpoint at seq/);
  });

  it('exits 1 for a chain rebuilt consistently by someone with the database but not the key (adversarial)', async () => {
    const { home, count } = await signedLog();
    rewriteChain(join(home, 'airlock.db'), (all) =>
      all.map((event) => (event.seq === 3 ? { ...event, data: { ...event.data, command: 'true' } } : event)),
    );
    const verified = await airlock(['audit', 'verify'], home);
    expect(verified.exitCode).toBe(1);
    expect(verified.stdout).toMatch(
      new RegExp(`^FAILED at seq ${count} \\(checkpoint-mismatch\\): .*rewritten after it was signed`),
    );
  });

  it('refuses a signing key file others can read: verify exits 2, the control plane does not start', async () => {
    const { home } = await signedLog();
    const keyFile = join(home, 'audit-key');
    chmodSync(keyFile, 0o644);
    const verified = await airlock(['audit', 'verify'], home);
    expect(verified.exitCode).toBe(2);
    expect(verified.stderr).toMatch(/audit-key is open to other users \(mode 644\).*chmod 600/);
    const refused = await createAirlock({ home, env: { HOME: home }, crossCheck: false }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(isAirlockError(refused) && refused.code).toBe('INVALID_CONFIG');
  });

  it('compares the witness airlock.yaml names, and fails when it and the store disagree (adversarial)', async () => {
    const home = newHome();
    const witness = join(home, 'witness.jsonl');
    writeFileSync(join(home, 'airlock.yaml'), `audit:\n  witness: { file: ${witness} }\n`);
    const plane = await createAirlock({
      home,
      env: { HOME: home },
      crossCheck: false,
      config: { audit: { witness: { file: witness } } },
    });
    closeAfterTest(plane);
    await (await plane.sessions.create()).run('echo witnessed');
    await plane.close();
    const n = await eventCount(home);
    const verified = await airlock(['audit', 'verify'], home);
    expect(verified.exitCode).toBe(0);
    expect(verified.stdout).toContain(`witness ${witness}: events 1..${n} match the store\n`);

    writeFileSync(witness, readFileSync(witness, 'utf8').replace('echo witnessed', 'echo innocent'));
    const edited = await airlock(['audit', 'verify'], home);
    expect(edited.exitCode).toBe(1);
    expect(edited.stdout).toMatch(/\(witness-mismatch\): witness .* does not match its own hash/);
  });
});
