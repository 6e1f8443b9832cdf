/**
 * Crash safety: a control plane killed with SIGKILL mid-command leaves a store a new control plane
 * can close out — the command recorded as interrupted, no sandbox left running, the audit chain intact.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { hostProcessesMatching } from '../containment/containment-suite.ts';
import { eventually, openAirlock, tempHome } from './support.ts';

const child = join(import.meta.dirname, 'fixtures', 'router-child.ts');

describe('after kill -9 of the process running a router', () => {
  it('a new router on the same store records the command as interrupted and nothing survives', async () => {
    const home = tempHome();
    // A duration no other test uses, so the host's process list tells whether this sandbox survived.
    const marker = '293.25';
    const proc = spawn(process.execPath, [child, home, marker], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: proc.stdout });
    const [line] = (await once(lines, 'line')) as [string];
    const started = JSON.parse(line) as {
      sessionId: string;
      commandId: string;
      pendingId: string;
      status: string;
    };
    expect(started.status).toBe('running');
    expect(await eventually(() => hostProcessesMatching(`sleep ${marker}`).length > 0)).toBe(true);

    proc.kill('SIGKILL');
    await once(proc, 'exit');
    // The sandbox dies with its control plane (die-with-parent), not only at the next start.
    expect(await eventually(() => hostProcessesMatching(`sleep ${marker}`).length === 0)).toBe(true);

    const { airlock } = await openAirlock({ home });
    expect(airlock.recovery).toMatchObject({ sessionsEnded: 1, commandsInterrupted: 2, approvalsExpired: 1 });
    const command = await airlock.commands.get(started.commandId);
    expect(command.status).toBe('failed');
    expect(command.error?.message).toMatch(/control plane stopped/);
    const session = await airlock.sessions.info(started.sessionId);
    expect(session.state).toBe('ended');
    expect(session.endReason).toMatch(/stopped unexpectedly/);
    expect((await airlock.approvals.list({ status: 'pending' })).length).toBe(0);
    const types = (await airlock.audit.list({ sessionId: started.sessionId })).map((event) => event.type);
    expect(types).toContain('execution.interrupted');
    expect(types.at(-1)).toBe('session.destroyed');
    // Host-side leftovers (spool directories) of the dead control plane's sandboxes are swept too.
    expect(readdirNames(join(home, 'sandboxes')).filter((name) => name.startsWith(`${proc.pid}-`))).toEqual(
      [],
    );
    expect(await airlock.audit.verify()).toMatchObject({ ok: true });
  });
});

describe('the audit chain', () => {
  it('fails verification when one event is edited, naming the event', async () => {
    const { airlock, home } = await openAirlock();
    const session = await airlock.sessions.create();
    await session.run('echo one');
    await session.run('echo two');
    const events = await airlock.audit.list();
    expect((await airlock.audit.verify()).ok).toBe(true);
    const target = events[3];
    expect(target).toBeDefined();

    const db = new DatabaseSync(join(home, 'airlock.db'));
    // An attacker with write access to the file can drop the guard triggers first.
    for (const row of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all()) {
      db.exec(`DROP TRIGGER "${String(row['name'])}"`);
    }
    db.prepare('UPDATE events SET data = ? WHERE seq = ?').run(
      '{"command":"echo harmless"}',
      target?.seq ?? 0,
    );
    db.close();

    const result = await airlock.audit.verify();
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.seq).toBe(target?.seq);
  });
});

function readdirNames(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
