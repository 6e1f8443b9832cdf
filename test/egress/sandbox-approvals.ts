/**
 * Ask mode from inside a sandbox: a connection to a host off the list waits for a person, in the same
 * approval queue as commands, showing the host, the port and the command that made it; approved once
 * or for the session, denied, or left unanswered until router.approvalWait, when it is refused.
 */
import { expect, it } from 'vitest';
import type { Airlock } from '../../src/airlock/index.ts';
import type { ApprovalRecord } from '../../src/store/index.ts';
import type { World } from './sandbox-suite.ts';

async function pendingEgress(airlock: Airlock, sessionId: string): Promise<ApprovalRecord> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const pending = await airlock.approvals.list({ status: 'pending', sessionId });
    const egress = pending.find((record) => record.action === 'egress');
    if (egress !== undefined) return egress;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('no egress approval was requested');
}

export function defineApprovalTests(state: { world: World }): void {
  it('asks a person about a host off the list, and a grant for the session holds for later connections', async () => {
    const { world } = state;
    const session = await world.session();
    const target = `other.example.test:${world.api.port}`;
    const running = world.client(session, `get http://${target}/asked`);
    const request = await pendingEgress(world.airlock, session.id);
    expect(request).toMatchObject({ action: 'egress', subject: target });
    expect(request.parsed[0]).toContain(`http://${target}/asked`);
    expect(request.commandId).not.toBeNull();
    await world.airlock.approvals.approve(request.id, { remember: true, decidedBy: 'test' });
    const { out, result } = await running;
    expect(out).toMatchObject({ status: 200 });
    expect(result.refusedHosts).toEqual([]);
    // Granted for the session: asked once only.
    expect((await world.client(session, `get http://${target}/again`)).out).toMatchObject({ status: 200 });
    const egressRequests = (await world.airlock.approvals.list({ sessionId: session.id })).filter(
      (record) => record.action === 'egress',
    );
    expect(egressRequests).toHaveLength(1);
  });

  it('refuses a connection a person denied, saying so', async () => {
    const { world } = state;
    const session = await world.session();
    const running = world.client(session, 'get http://denied.example.test/');
    const request = await pendingEgress(world.airlock, session.id);
    await world.airlock.approvals.deny(request.id, { decidedBy: 'test', reason: 'not for this task' });
    const { out, result } = await running;
    expect(out).toMatchObject({ status: 403, refused: 'ask_denied' });
    expect(result.refusedHosts).toContainEqual(
      expect.objectContaining({ host: 'denied.example.test', reason: 'ask_denied' }),
    );
  });

  it('refuses a connection nobody answered within router.approvalWait, and the request expires', async () => {
    const { world } = state;
    const session = await world.session();
    const started = Date.now();
    const { out, result } = await world.client(session, 'get http://unanswered.example.test/');
    expect(Date.now() - started).toBeGreaterThanOrEqual(5_500);
    expect(out).toMatchObject({ status: 403, refused: 'ask_timed_out' });
    expect(String(out['body'])).toContain('was not approved within 6 s');
    expect(result.forModel).toContain('unanswered.example.test');
    const [request] = (await world.airlock.approvals.list({ sessionId: session.id })).filter(
      (record) => record.action === 'egress',
    );
    expect(request?.status).toBe('expired');
  });
}
