/**
 * `airlock tokens`: people's tokens minted, listed and revoked in the store a running server shares,
 * seen by that server at once. The server is real (SQLite, HTTP on loopback) on the in-memory sandbox.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { createMemoryDriver } from '../support/memory-driver/index.ts';
import { call, startTestServer } from '../api/support.ts';

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

describe('airlock tokens', () => {
  it('mints a token a running server accepts at once, lists it without the token, and revokes it', async () => {
    const server = await startTestServer({ airlock: { drivers: { bwrap: createMemoryDriver() } } });
    const options = { cwd: server.home, env: { AIRLOCK_HOME: server.home, HOME: server.home } };
    const created = await runCli(['tokens', 'create', '--role', 'approver', '--name', 'alice'], options);
    expect(created).toMatchObject({ exitCode: 0 });
    const token = created.stdout.trim();
    expect(token).toMatch(/^alk_approver_[\w-]{43}$/);
    expect(created.stderr).toMatch(/approver token tok_[0-9a-f]{16} for alice; it is shown only now/);
    expect((await call(`${server.url}/v1/approvals`, token)).status).toBe(200);

    const listed = await runCli(['tokens', 'ls', '--json'], options);
    expect(listed.stdout).not.toContain(token);
    const info = JSON.parse(listed.stdout.trim()) as { id: string; role: string; createdBy: string };
    expect(info).toMatchObject({ role: 'approver', createdBy: expect.stringMatching(/^cli:/) });

    const revoked = await runCli(['tokens', 'revoke', info.id, 'tok_missing'], options);
    expect(revoked.exitCode).toBe(1);
    expect(revoked.stdout).toContain(`revoked ${info.id} (approver, alice)`);
    expect(revoked.stderr).toContain('no token "tok_missing"');
    expect((await call(`${server.url}/v1/approvals`, token)).status).toBe(401);
    expect((await runCli(['tokens', 'ls'], options)).stdout).toMatch(
      new RegExp(`${info.id} +approver +revoked`),
    );
  });

  it('refuses an unknown role, a name with control characters and a lifetime that is not one', async () => {
    const home = mkdtempSync(join(tmpdir(), 'airlock-tokens-cli-'));
    homes.push(home);
    const options = { cwd: home, env: { AIRLOCK_HOME: home, HOME: home } };
    const role = await runCli(['tokens', 'create', '--role', 'admin', '--name', 'x'], options);
    expect(role.exitCode).toBe(2);
    const name = await runCli(
      ['tokens', 'create', '--role', 'viewer', '--name', 'x\u001b]0;owned\u0007'],
      options,
    );
    expect(name.exitCode).toBe(2);
    expect(name.stderr).toContain('printable characters');
    const lifetime = await runCli(
      ['tokens', 'create', '--role', 'viewer', '--name', 'x', '--expires-in', 'soon'],
      options,
    );
    expect(lifetime.exitCode).toBe(2);
    expect((await runCli(['tokens', 'ls'], options)).stdout).toMatch(/^no tokens/);
  });
});
