/**
 * write_file through the router on the in-memory driver: judged by the same path rules as a shell
 * write, a secret file that enters has its values redacted from every output, and the session's
 * capabilities reach the policy.
 */
import { describe, expect, it } from 'vitest';
import { eventually, openMemoryAirlock } from '../../test/support/memory-airlock.ts';

const quiet = { router: { rateLimit: '1000/min' } };

describe('write_file judged by the policy like a shell write', () => {
  it('writes a project file unasked under the default configuration', async () => {
    const { airlock } = await openMemoryAirlock({ config: quiet });
    expect(airlock.config.router.approvalRequiredFor).not.toContain('write_file');
    const session = await airlock.sessions.create();
    const written = await session.files.write('src/app.py', 'print("hi")\n');
    expect(written).toMatchObject({ status: 'completed', approvalId: null });
    expect(await airlock.approvals.list({ status: 'pending' })).toEqual([]);
  });

  it('asks about a file a person inherits, with the reason a shell write gets', async () => {
    const { airlock } = await openMemoryAirlock({ config: quiet });
    const session = await airlock.sessions.create();
    const pending = await session.files.write('package.json', '{}\n', { waitForApproval: false });
    expect(pending.status).toBe('pending_approval');
    const shell = await session.run('echo {} > package.json', { waitForApproval: false });
    expect(shell.status).toBe('pending_approval');
    expect(pending.reasons.join(' ')).toMatch(/what build, test or CI commands run/);
    const [request] = await airlock.approvals.list({ status: 'pending', sessionId: session.id });
    expect(request?.action).toBe('write_file');
    expect(request?.grants).toEqual([{ scope: 'command', covers: ['write_file package.json'] }]);
  });

  it('refuses agent configuration outright, records the refusal and writes nothing (adversarial)', async () => {
    const { airlock } = await openMemoryAirlock({ config: quiet });
    const session = await airlock.sessions.create();
    const refused = await session.files.write('.vscode/settings.json', '{"task.allowAutomaticTasks":"on"}');
    expect(refused.status).toBe('denied');
    expect(refused.forModel).toMatch(/^not written: denied \(rule /);
    expect((await session.files.list('/workspace')).map((entry) => entry.name)).not.toContain('.vscode');
    const [event] = await airlock.audit.list({ sessionId: session.id, types: ['file.refused'] });
    expect(event?.data).toMatchObject({ path: '.vscode/settings.json' });
    expect(JSON.stringify(event?.data)).not.toContain('allowAutomaticTasks');
  });

  it('still asks for every write when router.approvalRequiredFor lists write_file', async () => {
    const { airlock } = await openMemoryAirlock({
      config: { router: { ...quiet.router, approvalRequiredFor: ['write_file'] } },
    });
    const session = await airlock.sessions.create();
    const pending = await session.files.write('notes.md', '# notes\n', { waitForApproval: false });
    expect(pending.status).toBe('pending_approval');
    expect(pending.reasons).toEqual([
      'router.approvalRequiredFor lists write_file: a person approves every file write',
    ]);
  });
});

describe('a secret file copied in', () => {
  const secret = 'hunter2-correct-horse-battery';
  const envFile = `# database\nDB_PASSWORD="${secret}"\nDEBUG=1\n`;

  it('is registered: its values are redacted from command output and file reads from then on', async () => {
    const { airlock } = await openMemoryAirlock({ config: quiet });
    const session = await airlock.sessions.create();
    // The same value in another file, printed before and after the secret file enters.
    await session.files.write('notes.txt', `password is ${secret}\n`);
    expect((await session.run('cat notes.txt')).stdout).toContain(secret);
    const pending = await session.files.write('.env', envFile, { waitForApproval: false });
    expect(pending.status).toBe('pending_approval');
    await airlock.approvals.approve(pending.approvalId ?? '');
    await eventually(async () => (await session.files.list('/workspace')).some((f) => f.name === '.env'));
    const printed = await session.run('cat notes.txt');
    expect(printed.stdout).toBe('password is [REDACTED:file:DB_PASSWORD]\n');
    const read = (await session.files.read('notes.txt')).toString();
    expect(read).not.toContain(secret);
    // Short values (DEBUG=1) are left alone: redacting them would shred ordinary output.
    const debug = await session.run('echo DEBUG=1', { waitForApproval: false });
    expect(debug.stdout, debug.forModel).toBe('DEBUG=1\n');
  });

  it('makes the policy judge reads that may reach it as reads of a secret the session was given', async () => {
    const { airlock } = await openMemoryAirlock({ config: quiet });
    const session = await airlock.sessions.create();
    const before = await session.run('cat "$F"', { waitForApproval: false });
    expect(before.status).toBe('completed');
    const pending = await session.files.write('config/app.pem', 'MIIBkeyBODYline\n', {
      waitForApproval: false,
    });
    await airlock.approvals.approve(pending.approvalId ?? '');
    await eventually(async () => (await session.files.list('/workspace')).some((f) => f.name === 'config'));
    const after = await session.run('cat "$F"', { waitForApproval: false });
    expect(after.status).not.toBe('completed');
  });
});
