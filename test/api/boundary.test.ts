/**
 * Telling the model the rules up front, and approvals that respect its time, over the HTTP API and the
 * SDK: a real server on 127.0.0.1, real SQLite, real bwrap.
 */
import { describe, expect, it } from 'vitest';
import { checkResult, createdSession, runResult, sessionInfo } from '../../src/server/schemas.ts';
import { eventually, startServer } from './sdk-support.ts';
import { call, startTestServer } from './support.ts';

/** Editing a build file a person inherits asks; `ls` runs unasked; reading a secret store is refused. */
describe('POST /v1/sessions/:id/commands:check (dry run)', () => {
  it('answers allow, ask and deny with reasons, runs nothing, and audits each check', async () => {
    const server = await startTestServer();
    const created = await call(`${server.url}/v1/sessions`, server.adminToken, { method: 'POST', body: {} });
    const session = createdSession.parse(created.body);
    const url = `${server.url}/v1/sessions/${session.id}`;
    const check = async (command: string) => {
      const answer = await call(`${url}/commands:check`, session.token, {
        method: 'POST',
        body: { command },
      });
      expect(answer.status, command).toBe(200);
      return checkResult.parse(answer.body);
    };
    expect(await check('ls -la')).toMatchObject({ decision: 'allow', grants: [] });
    const ask = await check('touch package.json');
    expect(ask.decision).toBe('ask');
    expect(ask.forModel).toMatch(/^ask: a person would have to approve it/);
    expect(ask.reasons.join(' ')).toMatch(/a person inherits it/);
    expect(ask.grants.map((grant) => grant.scope)).toEqual(['command', 'program']);
    const deny = await check('cat .env');
    expect(deny.decision).toBe('deny');
    expect(deny.forModel).toMatch(/^deny: it would be refused \(rule /);
    // Nothing ran: the file the ask would have made is not there, and no command was recorded.
    const listed = await call(`${url}/files/list?path=/workspace`, session.token);
    expect((listed.body as { entries: { name: string }[] }).entries.map((e) => e.name)).not.toContain(
      'package.json',
    );
    const audit = await call(`${server.url}/v1/audit?sessionId=${session.id}`, server.adminToken);
    const types = (audit.body as { events: { type: string; data: Record<string, unknown> }[] }).events;
    expect(types.filter((event) => event.type === 'policy.checked').map((e) => e.data['decision'])).toEqual([
      'allow',
      'ask',
      'deny',
    ]);
    expect(types.some((event) => event.type === 'command.proposed')).toBe(false);
  });

  it('is described in /v1/openapi.json, and refuses another session and a bad body (adversarial)', async () => {
    const server = await startTestServer();
    const document = (await call(`${server.url}/v1/openapi.json`, null)).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.paths['/v1/sessions/{id}/commands:check']?.['post']).toBeDefined();
    const one = createdSession.parse(
      (await call(`${server.url}/v1/sessions`, server.adminToken, { method: 'POST', body: {} })).body,
    );
    const other = createdSession.parse(
      (await call(`${server.url}/v1/sessions`, server.adminToken, { method: 'POST', body: {} })).body,
    );
    const foreign = await call(`${server.url}/v1/sessions/${other.id}/commands:check`, one.token, {
      method: 'POST',
      body: { command: 'ls' },
    });
    expect(foreign.status).toBe(404);
    const bad = await call(`${server.url}/v1/sessions/${one.id}/commands:check`, one.token, {
      method: 'POST',
      body: { command: 'ls', run: true },
    });
    expect(bad.status).toBe(400);
  });
});

describe('a command waiting for a person, over HTTP and the SDK', () => {
  it('answers pending_approval after approvalWaitMs with the exact follow-up calls, then runs once approved', async () => {
    const { admin, url } = await startServer();
    const session = await admin.sessions.create();
    const pending = await session.run('touch package.json && echo made', { approvalWaitMs: 300 });
    expect(pending.status).toBe('pending_approval');
    const follow = `GET /v1/sessions/${session.id}/commands/${pending.id}`;
    expect(pending.forModel).toContain(follow);
    expect(pending.forModel).toContain(`session.commands.get("${pending.id}")`);
    const request = await admin.approvals.get(pending.approvalId ?? '');
    expect(request.grants).toEqual([
      { scope: 'command', covers: ['touch package.json'] },
      { scope: 'program', covers: ['touch'] },
    ]);
    await admin.approvals.approve(request.id, { scope: 'command', reason: 'fine' });
    const done = await eventually(async () => {
      const now = await session.commands.get(pending.id);
      return now.status === 'completed' ? now : undefined;
    });
    expect(done).toMatchObject({ status: 'completed', exitCode: 0, stdout: 'made\n' });
    // Remembered for this exact command: it runs again unasked.
    expect((await session.run('touch package.json && echo made')).status).toBe('completed');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });

  it('checks through the SDK, and shows what will ask in GET /v1/sessions/:id', async () => {
    const { admin, url, adminToken } = await startServer({
      config: { router: { approvalRequiredFor: ['pip install'], approvalWait: '5s' } },
    });
    // A session without network: a push cannot work, so it is refused at once, not asked.
    const session = await admin.sessions.create({
      secretEnv: { API_TOKEN: 'token-value-kept-secret' },
      network: 'none',
    });
    const checked = await session.commands.check('git push origin main');
    expect(checked.decision).toBe('deny');
    expect(checked.reasons.join(' ')).toMatch(/no network/);
    const info = sessionInfo.parse((await call(`${url}/v1/sessions/${session.id}`, adminToken)).body);
    expect(info.boundary).toEqual({
      network: { mode: 'none', allow: [] },
      secrets: { envNames: ['API_TOKEN'], files: [] },
      home: '/tmp/home',
      approvalRequiredFor: ['pip install'],
      reviewer: null,
      approvalWaitMs: 5000,
      approvalTimeoutMs: 300_000,
      granted: { commands: 0, programs: [], hosts: [] },
    });
    // HOME is outside the workspace: a cache written under ~ never lands in the project.
    const home = await session.run('mkdir -p ~/.cache/tool && echo cached > ~/.cache/tool/x && echo $HOME');
    expect(runResult.parse(home).stdout).toBe('/tmp/home\n');
    expect((await session.files.list('/workspace')).map((entry) => entry.name)).toEqual([]);
  });
});
