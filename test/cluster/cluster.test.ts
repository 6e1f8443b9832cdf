/**
 * Three `airlock serve` processes on one real PostgreSQL: sessions spread over the nodes, any node
 * serves any request (forwarding it to the session's node), an approval decided on one node releases
 * the command waiting on another, and a node killed with SIGKILL is found lost by the others, which
 * end its sessions (410 SESSION_ENDED with the reason) and keep serving their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, postgresSkipReason, type PostgresCluster } from '../support/postgres.ts';
import { runCli } from '../support/cli.ts';
import { AirlockClient, isAirlockApiError } from '../../src/sdk/index.ts';
import { ADMIN_TOKEN, call, clusterSecretFile, startNode, type ClusterProcess } from './cluster-process.ts';

const skip = postgresSkipReason();

describe.skipIf(skip !== undefined)(
  `three control planes on one PostgreSQL${skip ? ` (${skip})` : ''}`,
  () => {
    let postgres: PostgresCluster;
    let storeUrl: string;
    const nodes: ClusterProcess[] = [];
    const byId = (id: string): ClusterProcess => {
      const node = nodes.find((candidate) => candidate.nodeId === id);
      if (node === undefined) throw new Error(`no ${id}`);
      return node;
    };

    beforeAll(async () => {
      postgres = await startPostgres();
      storeUrl = await postgres.createDatabase('cluster');
      const secretFile = clusterSecretFile();
      const extraYaml = ['router:', '  approvalRequiredFor: ["touch"]'].join('\n');
      // One after the other: the first applies the schema, the others find it current.
      for (const nodeId of ['node-a', 'node-b', 'node-c']) {
        nodes.push(await startNode({ nodeId, storeUrl, secretFile, extraYaml }));
      }
    }, 180_000);

    afterAll(async () => {
      for (const node of nodes) await node.kill('SIGTERM').catch(() => undefined);
      await postgres?.destroy();
    }, 60_000);

    it('spreads sessions, forwards, approves across nodes, and survives the loss of a node', async () => {
      const [a, b, c] = [byId('node-a'), byId('node-b'), byId('node-c')];

      // Placement: six sessions asked of one node land on all three (least-loaded first).
      const placed: { id: string; token: string; node: string }[] = [];
      for (let i = 0; i < 6; i++) {
        const created = await call(a.url, 'POST', '/v1/sessions', {});
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        placed.push({
          id: String(created.body['id']),
          token: String(created.body['token']),
          node: created.node ?? '',
        });
      }
      const counts = new Map<string, number>();
      for (const session of placed) counts.set(session.node, (counts.get(session.node) ?? 0) + 1);
      expect([...counts.keys()].sort()).toEqual(['node-a', 'node-b', 'node-c']);
      expect([...counts.values()]).toEqual([2, 2, 2]);

      // A session named for node A, created through C.
      const created = await call(c.url, 'POST', '/v1/sessions', { node: 'node-a' });
      expect(created.status).toBe(201);
      expect(created.node).toBe('node-a');
      const onA = { id: String(created.body['id']), token: String(created.body['token']) };

      // A command on A's session sent to B waits for a person; the approval is given on C.
      const waiting = call(
        b.url,
        'POST',
        `/v1/sessions/${onA.id}/commands`,
        { command: 'touch ok && echo approved-run' },
        onA.token,
      );
      let approvalId = '';
      for (let i = 0; i < 100 && approvalId === ''; i++) {
        const pending = await call(c.url, 'GET', '/v1/approvals?status=pending');
        const list = (pending.body['approvals'] ?? []) as { id: string; sessionId: string }[];
        approvalId = list.find((approval) => approval.sessionId === onA.id)?.id ?? '';
        if (approvalId === '') await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(approvalId).not.toBe('');
      // The person takes a while: longer than a hop's connect timeout (5 s), which must not cut the wait.
      await new Promise((resolve) => setTimeout(resolve, 6000));
      const decided = await call(c.url, 'POST', `/v1/approvals/${approvalId}`, { decision: 'approve' });
      expect(decided.status, JSON.stringify(decided.body)).toBe(200);
      const ran = await waiting;
      expect(ran.status, JSON.stringify(ran.body)).toBe(200);
      expect(ran.node).toBe('node-a');
      expect(ran.body).toMatchObject({ status: 'completed', exitCode: 0 });
      expect(String(ran.body['stdout'])).toContain('approved-run');

      // A request for A's session sent to B is served by A, with the session's own token; again once
      // B knows the route (it is then remembered, not read from the store).
      for (let i = 0; i < 2; i++) {
        const info = await call(b.url, 'GET', `/v1/sessions/${onA.id}`, undefined, onA.token);
        expect(info.status).toBe(200);
        expect(info.node).toBe('node-a');
        expect(info.body['state']).toBe('active');
      }
      // The answers about A's session name A's URL, whichever node was asked; the SDK then sends the
      // session's requests straight to A (and back through B once A does not answer, below).
      const named = await fetch(`${b.url}/v1/sessions/${onA.id}`, {
        headers: { authorization: `Bearer ${onA.token}` },
      });
      expect(named.headers.get('x-airlock-node-url')).toBe(a.url);
      // Only to a caller the node authenticated: an advertise URL may be a private address.
      const anonymous = await fetch(`${a.url}/v1/sessions/${onA.id}`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('x-airlock-node-url')).toBeNull();
      const sent: string[] = [];
      const sdk = new AirlockClient({
        url: b.url,
        fetch: (input, init) => {
          sent.push(new URL(input).origin);
          return fetch(input, init);
        },
      });
      const followed = await sdk.sessions.connect(onA.id, { token: onA.token });
      expect((await followed.run('echo via-sdk')).stdout).toContain('via-sdk');
      expect(sent).toEqual([b.url, a.url]);

      // An id no node knows is answered 404 by the node asked, never remembered as anyone's.
      for (let i = 0; i < 2; i++) {
        const unknown = await call(b.url, 'GET', `/v1/sessions/ses_${'0'.repeat(24)}`);
        expect(unknown.status, JSON.stringify(unknown.body)).toBe(404);
        expect(unknown.node).toBe('node-b');
      }

      // A node-to-node signature cannot be forged by a client.
      const forged = await fetch(`${b.url}/v1/sessions`, {
        headers: { authorization: `Bearer ${onA.token}`, 'x-airlock-cluster': 'v1 node-a 1 n abc' },
      });
      expect(forged.status).toBe(401);

      // Cluster status lists the three nodes with their sessions.
      const status = await runCli(['cluster', 'status', '--config', c.configPath], {
        cwd: c.home,
        env: { AIRLOCK_HOME: c.home },
      });
      expect(status.exitCode, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/node-a\s+live\s+3\b/);
      expect(status.stdout).toMatch(/node-b\s+live\s+2\b/);

      // Each node's metrics carry its id.
      const metrics = await fetch(`${b.url}/metrics`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(await metrics.text()).toMatch(
        /airlock_cluster_heartbeats_total\{[^}]*node="node-b"[^}]*\} [1-9]/,
      );

      // A command on A left waiting for a person when A dies: its approval must expire with it.
      const stranded = call(
        a.url,
        'POST',
        `/v1/sessions/${onA.id}/commands`,
        { command: 'touch never' },
        onA.token,
      ).catch(() => null);
      let strandedId = '';
      for (let i = 0; i < 100 && strandedId === ''; i++) {
        const pending = await call(b.url, 'GET', '/v1/approvals?status=pending');
        const list = (pending.body['approvals'] ?? []) as { id: string; sessionId: string }[];
        strandedId = list.find((approval) => approval.sessionId === onA.id)?.id ?? '';
        if (strandedId === '') await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(strandedId).not.toBe('');

      // A dies: within 10 s B and C report its sessions lost; their own sessions keep working.
      await a.kill('SIGKILL');
      await stranded;
      const killedAt = Date.now();
      const aSessions = [onA, ...placed.filter((session) => session.node === 'node-a')];
      for (const observer of [b, c]) {
        for (const session of aSessions) {
          let reply = await call(observer.url, 'GET', `/v1/sessions/${session.id}`);
          while (reply.body['state'] !== 'ended' && Date.now() - killedAt < 10_000) {
            await new Promise((resolve) => setTimeout(resolve, 200));
            reply = await call(observer.url, 'GET', `/v1/sessions/${session.id}`);
          }
          expect(reply.body['state'], JSON.stringify(reply.body)).toBe('ended');
          expect(String(reply.body['endReason'])).toMatch(/node node-a was lost: no heartbeat/);
        }
      }
      expect(Date.now() - killedAt).toBeLessThan(10_000);
      const expired = await call(b.url, 'GET', `/v1/approvals/${strandedId}`);
      expect(expired.body).toMatchObject({ status: 'expired' });
      const gone = await call(c.url, 'POST', `/v1/sessions/${onA.id}/commands`, { command: 'echo hi' });
      expect(gone.status).toBe(410);
      expect(gone.body).toMatchObject({ error: { code: 'SESSION_ENDED' } });
      expect(JSON.stringify(gone.body)).toMatch(/node node-a was lost/);
      // The agent holding A's session token is told the same by every survivor, with the typed reason,
      // not refused as unknown (401): the token was minted by A, which is gone. B remembered the route
      // to A's session before A died: A being lost, B answers for it from the store.
      for (const observer of [b, c]) {
        const told = await call(
          observer.url,
          'POST',
          `/v1/sessions/${onA.id}/commands`,
          { command: 'echo hi' },
          onA.token,
        );
        expect(told.status, JSON.stringify(told.body)).toBe(410);
        expect(told.body).toMatchObject({
          error: { code: 'SESSION_ENDED', details: { sessionId: onA.id, reason: 'node_lost' } },
        });
        const own = await call(observer.url, 'GET', `/v1/sessions/${onA.id}`, undefined, onA.token);
        expect(own.status).toBe(200);
        expect(own.body).toMatchObject({ id: onA.id, state: 'ended' });
      }
      // The SDK's handle finds A gone, goes back through B, and is told why.
      const fellBack = await followed.run('echo hi').catch((error: unknown) => error);
      expect(isAirlockApiError(fellBack, 'SESSION_ENDED'), String(fellBack)).toBe(true);
      expect(sent.slice(2)).toEqual([a.url, b.url]);
      // A session token reaches only its own session, on a survivor too (adversarial).
      const other = placed.find((session) => session.node === 'node-b');
      const crossed = await call(c.url, 'GET', `/v1/sessions/${other?.id ?? ''}`, undefined, onA.token);
      expect(crossed.status).toBe(404);
      // A forged token in the cluster's format, for A's session, is unknown.
      const forgedToken = onA.token.replace(/.$/, (last) => (last === 'A' ? 'B' : 'A'));
      const refused = await call(c.url, 'GET', `/v1/sessions/${onA.id}`, undefined, forgedToken);
      expect(refused.status).toBe(401);

      for (const session of placed.filter((entry) => entry.node !== 'node-a')) {
        // Each through the node that does not run it.
        const via = session.node === 'node-b' ? c : b;
        const reply = await call(
          via.url,
          'POST',
          `/v1/sessions/${session.id}/commands`,
          { command: 'echo still-here' },
          session.token,
        );
        expect(reply.status, JSON.stringify(reply.body)).toBe(200);
        expect(reply.node).toBe(session.node);
        expect(String(reply.body['stdout'])).toContain('still-here');
      }

      const listed = await runCli(['cluster', 'status', '--config', b.configPath], {
        cwd: b.home,
        env: { AIRLOCK_HOME: b.home },
      });
      expect(listed.stdout).toMatch(/node-a\s+lost\s+0\b/);

      // One audit chain, written by three nodes at once, verifies on every surviving node.
      for (const observer of [b, c]) {
        const verified = await call(observer.url, 'GET', '/v1/audit/verify');
        expect(verified.body, JSON.stringify(verified.body)).toMatchObject({ ok: true });
        const cli = await runCli(['audit', 'verify', '--config', observer.configPath], {
          cwd: observer.home,
          env: { AIRLOCK_HOME: observer.home },
        });
        expect(cli.exitCode, cli.stdout + cli.stderr).toBe(0);
        expect(cli.stdout).toMatch(/^ok: \d+ events verified/);
      }
    }, 240_000);
  },
);
