/**
 * Ask mode from inside a sandbox: a connection to a host off the list waits for a person, in the same
 * approval queue as commands, showing the host, the port and the command that made it; approved once
 * or for the session, denied, or left unanswered until router.approvalWait, when it is refused.
 */
import { expect, it } from 'vitest';
import type { Airlock } from '../../src/airlock/index.ts';
import type { ApprovalRecord } from '../../src/store/index.ts';
import type { World } from './sandbox-suite.ts';

async function pending(
  airlock: Airlock,
  sessionId: string,
  action: ApprovalRecord['action'] = 'egress',
): Promise<ApprovalRecord> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const waiting = await airlock.approvals.list({ status: 'pending', sessionId });
    const found = waiting.find((record) => record.action === action);
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no ${action} approval was requested`);
}
const pendingEgress = (airlock: Airlock, sessionId: string) => pending(airlock, sessionId);

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
    // Granted for the session: asked once only, also after the proxy restarted.
    expect((await world.client(session, `get http://${target}/again`)).out).toMatchObject({ status: 200 });
    await world.airlock.egress.restart();
    expect((await world.client(session, `get http://${target}/restarted`)).out).toMatchObject({
      status: 200,
    });
    const egressRequests = (await world.airlock.approvals.list({ sessionId: session.id })).filter(
      (record) => record.action === 'egress',
    );
    expect(egressRequests).toHaveLength(1);
  });

  it('lets a host a person granted with a command through the proxy too: no second ask at the boundary', async () => {
    const { world } = state;
    // The coding-agent policy asks before a command reaches a host off the list, offering the host.
    const session = await world.session({ policy: 'coding-agent' });
    const has = await session.run('command -v curl');
    expect(has.exitCode, 'every image of the suite has curl').toBe(0);
    const url = `http://granted.example.test:${world.api.port}`;
    const running = session.run(`curl -sS ${url}/first`);
    const request = await pending(world.airlock, session.id, 'command');
    expect(request.grants).toContainEqual({ scope: 'host', covers: ['granted.example.test'] });
    await world.airlock.approvals.approve(request.id, { scope: 'host', decidedBy: 'test' });
    const first = await running;
    expect(first.stdout).toContain('hello from granted.example.test');
    expect(first.refusedHosts).toEqual([]);
    // Later commands to that host: neither the policy nor the proxy asks again.
    const again = await session.run(`curl -sS ${url}/again`);
    expect(again.stdout).toContain('hello from granted.example.test');
    const asked = await world.airlock.approvals.list({ sessionId: session.id });
    expect(asked.map((record) => record.action)).toEqual(['command']);
    // The grant is that host, not the network: approved once by the policy, the proxy still asks
    // about another host.
    const other = world.client(session, `get http://other.example.test:${world.api.port}/x`);
    const command = await pending(world.airlock, session.id, 'command');
    await world.airlock.approvals.approve(command.id, { decidedBy: 'test' });
    const egress = await pendingEgress(world.airlock, session.id);
    expect(egress.subject).toBe(`other.example.test:${world.api.port}`);
    await world.airlock.approvals.deny(egress.id, { decidedBy: 'test' });
    expect((await other).out).toMatchObject({ status: 403, refused: 'ask_denied' });
  });

  it('tells the policy of a host granted at the proxy: a later command naming it is not asked about, until the grant is withdrawn', async () => {
    const { world } = state;
    const session = await world.session({ policy: 'coding-agent' });
    const host = 'late.example.test';
    const target = { host, port: world.api.port };
    const curl = `curl -sS http://${host}:${world.api.port}/x`;
    expect((await session.commands.check(curl)).decision, 'a host off the list is asked about first').toBe(
      'ask',
    );
    // The connection comes from a command the policy asks about; approved once, it asks at the proxy.
    const running = world.client(session, `get http://${host}:${world.api.port}/asked`);
    await world.airlock.approvals.approve((await pending(world.airlock, session.id, 'command')).id, {
      decidedBy: 'test',
    });
    const egress = await pendingEgress(world.airlock, session.id);
    await world.airlock.approvals.approve(egress.id, { remember: true, decidedBy: 'test' });
    expect((await running).out).toMatchObject({ status: 200 });
    expect((await session.commands.check(curl)).decision).toBe('allow');
    const ran = await session.run(curl);
    expect(ran.status).toBe('completed');
    expect(ran.stdout).toContain(`hello from ${host}`);
    // Withdrawn from the dashboard: the policy asks again, as the proxy does; granted there: it does not.
    await world.airlock.egress.revokeGrant(session.id, target, { decidedBy: 'test' });
    expect((await session.commands.check(curl)).decision).toBe('ask');
    await world.airlock.egress.grant(session.id, target, { decidedBy: 'test' });
    expect((await session.commands.check(curl)).decision).toBe('allow');
    // Only that host: another one is still asked about.
    expect(
      (await session.commands.check(`curl -sS http://other.example.test:${world.api.port}/`)).decision,
    ).toBe('ask');
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
