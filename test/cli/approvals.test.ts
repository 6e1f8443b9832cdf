/**
 * `airlock approvals` against a real store: a control plane in this process asks, the CLI (in-process
 * or as a second process sharing the SQLite file) lists and decides, and the waiting router picks the
 * decision up from the store.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAirlock } from '../../src/index.ts';
import { runCli } from '../support/cli.ts';
import type { CliRun } from '../support/cli.ts';
import { bwrapMissing, closeAfterTest, envFor, newHome, runCliProcess, startCli } from './cli-process.ts';

/** `airlock …` in this process, as the user of `home` would type it. */
function airlock(args: string[], home: string, stdin?: string): Promise<CliRun> {
  return runCli(args, { cwd: home, env: envFor(home), ...(stdin === undefined ? {} : { stdin }) });
}

/** A router in this process with a command waiting for a person: `touch` needs approval. */
async function pendingCommand(command = 'touch x') {
  const home = newHome();
  const plane = await createAirlock({
    home,
    env: { HOME: home },
    crossCheck: false,
    approvalPollIntervalMs: 50,
    config: { router: { approvalRequiredFor: ['touch'] } },
  });
  closeAfterTest(plane);
  const session = await plane.sessions.create();
  const pending = await session.run(command, { waitForApproval: false });
  expect(pending.status).toBe('pending_approval');
  const approvalId = pending.approvalId ?? '';
  expect(approvalId).toMatch(/^apr_/);
  return { home, plane, session, commandId: pending.id, approvalId };
}

describe('airlock approvals with no store yet', () => {
  it('says there is nothing pending and does not create a database', async () => {
    const home = newHome();
    const listed = await airlock(['approvals', 'ls'], home);
    expect(listed).toMatchObject({ exitCode: 0, stdout: 'no pending approvals\n' });
    const json = await airlock(['approvals', 'ls', '--json'], home);
    expect(json).toMatchObject({ exitCode: 0, stdout: '' });
    const approve = await airlock(['approvals', 'approve', 'apr_missing'], home);
    expect(approve.exitCode).toBe(1);
    expect(approve.stderr).toMatch(/no approval request "apr_missing" .*airlock approvals ls/);
    expect(readdirSync(home)).toEqual([]);
  });
});

describe.skipIf(bwrapMissing)('airlock approvals against a running router', () => {
  it('ls shows the pending request as a table and as JSON lines', async () => {
    const { home, session, approvalId } = await pendingCommand();
    const listed = await airlock(['approvals', 'ls'], home);
    expect(listed.exitCode).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^ID\s+SESSION\s+AGE\s+EXPIRES\s+SUBJECT$/);
    expect(lines[1]).toContain(approvalId);
    expect(lines[1]).toContain(session.id);
    expect(lines[1]).toMatch(/in \d+m\d\ds\s+touch x$/);

    const json = await airlock(['approvals', 'ls', '--json'], home);
    const records = json.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ id: approvalId, status: 'pending', parsed: ['touch x'] });

    const otherSession = await airlock(['approvals', 'ls', '--session', 'ses_other'], home);
    expect(otherSession.stdout).toBe('no pending approvals in session ses_other\n');
  });

  it('approve from a second process lets the waiting command run, recorded as the CLI user', async () => {
    const { home, plane, commandId, approvalId } = await pendingCommand();
    const approved = await runCliProcess(['approvals', 'approve', approvalId], home);
    expect(approved.stderr).toBe('');
    expect(approved.exitCode).toBe(0);
    expect(approved.stdout).toMatch(
      new RegExp(`^approved ${approvalId} \\(touch x\\) in session \\S+ by cli:\\S+\\n$`),
    );
    const result = await plane.commands.wait(commandId);
    expect(result.status).toBe('completed');
    const record = await plane.approvals.get(approvalId);
    expect(record.decidedBy).toMatch(/^cli:./);

    const after = await airlock(['approvals', 'ls'], home);
    expect(after.stdout).toBe('no pending approvals\n');
    const all = await airlock(['approvals', 'ls', '--all'], home);
    expect(all.stdout).toMatch(/STATUS/);
    expect(all.stdout).toMatch(new RegExp(`${approvalId}\\s+\\S+\\s+approved\\s`));
  });

  it('deny --reason keeps the command from running and the model reads the reason', async () => {
    const { home, plane, session, commandId, approvalId } = await pendingCommand();
    const denied = await runCliProcess(
      ['approvals', 'deny', approvalId, '--reason', 'not part of this task'],
      home,
    );
    expect(denied.exitCode).toBe(0);
    expect(denied.stdout).toMatch(/^denied apr_\w+ .*: not part of this task\n$/);
    const result = await plane.commands.wait(commandId);
    expect(result.status).toBe('denied');
    expect(result.forModel).toContain('not part of this task');
    expect((await session.files.list('/workspace')).map((file) => file.name)).not.toContain('x');
  });

  it('deciding an already decided request exits 3 with one line, and the first decision stands', async () => {
    const { home, plane, commandId, approvalId } = await pendingCommand();
    expect((await airlock(['approvals', 'deny', approvalId], home)).exitCode).toBe(0);
    const again = await airlock(['approvals', 'approve', approvalId], home);
    expect(again.exitCode).toBe(3);
    expect(again.stdout).toBe('');
    expect(again.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/already denied \(by cli:.+\); that decision stands/);
    expect((await plane.commands.wait(commandId)).status).toBe('denied');
  });

  it('an unknown id exits 1 naming the fix', async () => {
    const { home } = await pendingCommand();
    const result = await airlock(['approvals', 'approve', 'apr_000000000000000000000000'], home);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/no approval request .* check the id with airlock approvals ls/);
  });

  it('approve --remember lets the same command run again in that session without asking', async () => {
    const { home, plane, session, commandId, approvalId } = await pendingCommand();
    const approved = await airlock(['approvals', 'approve', approvalId, '--remember'], home);
    expect(approved.stdout).toMatch(/remembered for the rest of the session/);
    expect((await plane.commands.wait(commandId)).status).toBe('completed');
    const again = await session.run('touch x', { waitForApproval: false });
    expect(again.status).toBe('completed');
    expect(again.approvalId ?? null).toBeNull();
  });

  it('approve --scope program lets later commands of that program run unasked in that session', async () => {
    const { home, plane, session, commandId, approvalId } = await pendingCommand();
    const approved = await airlock(['approvals', 'approve', approvalId, '--scope', 'program'], home);
    expect(approved.exitCode).toBe(0);
    expect(approved.stdout).toMatch(/remembered for the rest of the session \(program: touch\)/);
    expect((await plane.commands.wait(commandId)).status).toBe('completed');
    expect((await session.run('touch y z', { waitForApproval: false })).status).toBe('completed');
    const unoffered = await airlock(
      ['approvals', 'approve', 'apr_000000000000000000000000', '--scope', 'all'],
      home,
    );
    expect(unoffered.exitCode).toBe(2);
    expect(unoffered.stderr).toMatch(/--scope must be one of command, program, host/);
  });

  it('watch shows what a request could be approved for the rest of the session, and p answers program', async () => {
    const { home, plane, session, commandId } = await pendingCommand();
    // h is not offered for a command that reaches no host: asked again, then p.
    const watched = await airlock(['approvals', 'watch', '--interactive'], home, 'h\np\n');
    expect(watched.exitCode).toBe(0);
    expect(watched.stdout).toContain(
      '  or approve for the rest of the session:\n    r  this exact command: touch x\n    p  program: touch\n',
    );
    expect(watched.stdout).toMatch(
      /approve\? \[y\]es \/ \[n\]o \[reason\] \/ \[r\]emember command \/ \[p\]rogram \/ \[s\]kip: /,
    );
    expect(watched.stdout).toMatch(/: h\nanswer y, n, n <reason>, r or s\n/);
    expect((await plane.commands.wait(commandId)).status).toBe('completed');
    expect((await session.run('touch other', { waitForApproval: false })).status).toBe('completed');
  });

  it('watch --interactive shows the request in full and applies the answer read from stdin', async () => {
    const { home, plane, session, commandId, approvalId } = await pendingCommand();
    const watched = await airlock(['approvals', 'watch', '--interactive'], home, 'y\n');
    expect(watched.exitCode).toBe(0);
    expect(watched.stdout).toContain(`approval requested ${approvalId}`);
    expect(watched.stdout).toContain(`session:  ${session.id}`);
    expect(watched.stdout).toMatch(/command: {2}touch x\n {2}parsed commands \(1\):\n {4}touch x\n/);
    expect(watched.stdout).toMatch(/reasons:\n( {4}- .*\n)* {4}- .*approvalRequiredFor/);
    expect(watched.stdout).toMatch(/expires in \d+m\d\ds/);
    expect(watched.stdout).toMatch(/approve\? \[y\]es .*: y\napproved apr_\w+ \(touch x\)/);
    expect((await plane.commands.wait(commandId)).status).toBe('completed');
  });

  it('watch --interactive denies with a reason, and re-asks after an answer it does not understand', async () => {
    const { home, plane, commandId } = await pendingCommand();
    const watched = await airlock(['approvals', 'watch', '--interactive'], home, 'maybe\nn too risky\n');
    expect(watched.exitCode).toBe(0);
    expect(watched.stdout).toMatch(/: maybe\nanswer y, n, n <reason>, r or s\napprove\?/);
    const result = await plane.commands.wait(commandId);
    expect(result.status).toBe('denied');
    expect(result.forModel).toContain('too risky');
  });

  it('watch without a terminal is a feed: it prints requests and their outcomes until Ctrl-C (130)', async () => {
    const { home, plane, approvalId } = await pendingCommand();
    const watch = startCli(['approvals', 'watch'], home);
    try {
      await watch.waitForOutput(new RegExp(`approval requested ${approvalId}`));
      expect(watch.stdout()).not.toMatch(/approve\?/);
      await plane.approvals.approve(approvalId, { decidedBy: 'someone-else' });
      await watch.waitForOutput(new RegExp(`approved ${approvalId} .* by someone-else`));
    } finally {
      watch.child.kill('SIGINT');
    }
    const ended = await watch.exited;
    expect(ended.exitCode).toBe(130);
    expect(ended.stderr).not.toMatch(/Error|\n\s+at /);
  });

  it('shows a command with a newline on one line, quoted, so it cannot draw fake lines (adversarial)', async () => {
    const { home, approvalId } = await pendingCommand("touch 'a\n  parsed commands (1):\n    ls'");
    const listed = await airlock(['approvals', 'ls'], home);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`"touch 'a\\n  parsed commands (1):\\n    ls'"`);
    const watched = await airlock(['approvals', 'watch', '--interactive'], home, 's\n');
    expect(watched.stdout).toContain(approvalId);
    expect(watched.stdout).not.toMatch(/^ {4}ls'?$/m);
    expect(watched.stdout.match(/^ {2}parsed commands/gm)).toHaveLength(1);
  });

  it('finds the store through --config when airlock.yaml names it', async () => {
    const { home, approvalId } = await pendingCommand();
    const elsewhere = newHome();
    writeFileSync(join(elsewhere, 'airlock.yaml'), `store: sqlite:${join(home, 'airlock.db')}\n`);
    const listed = await airlock(['approvals', 'ls', '--config', join(elsewhere, 'airlock.yaml')], elsewhere);
    expect(listed.stdout).toContain(approvalId);
  });
});
