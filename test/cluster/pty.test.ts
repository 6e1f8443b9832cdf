/**
 * The terminal WebSocket in a cluster: two `airlock serve` processes on one real PostgreSQL. Nodes
 * forward HTTP requests, not WebSockets, so an upgrade reaching the node that does not run the session
 * is refused before the upgrade with the URL of the node that does, for a token sent either way; the
 * URL named works. An unauthenticated upgrade learns nothing about where the session runs (adversarial).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startPostgres, postgresSkipReason, type PostgresCluster } from '../support/postgres.ts';
import { ADMIN_TOKEN, call, clusterSecretFile, startNode, type ClusterProcess } from './cluster-process.ts';

const skip = postgresSkipReason();

type Upgrade = { opened: true; socket: WebSocket } | { opened: false; status: number; body: string };

function upgrade(url: string, protocols: string[], headers: Record<string, string> = {}): Promise<Upgrade> {
  const socket = new WebSocket(url, protocols, { headers });
  return new Promise((resolve, reject) => {
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ opened: false, status: response.statusCode ?? 0, body }));
    });
    socket.once('error', reject);
    socket.once('open', () => resolve({ opened: true, socket }));
  });
}

describe.skipIf(skip !== undefined)(
  `terminal WebSocket across cluster nodes${skip ? ` (${skip})` : ''}`,
  () => {
    let postgres: PostgresCluster;
    const nodes: ClusterProcess[] = [];

    beforeAll(async () => {
      postgres = await startPostgres();
      const storeUrl = await postgres.createDatabase('cluster_pty');
      const secretFile = clusterSecretFile();
      const extraYaml = ['policy:', '  preset: permissive'].join('\n');
      for (const nodeId of ['node-a', 'node-b'])
        nodes.push(await startNode({ nodeId, storeUrl, secretFile, extraYaml }));
    }, 180_000);

    afterAll(async () => {
      for (const node of nodes) await node.kill('SIGTERM').catch(() => undefined);
      await postgres?.destroy();
    }, 60_000);

    it('refuses an upgrade on the wrong node naming the node to use, which then works', async () => {
      const [a, b] = nodes as [ClusterProcess, ClusterProcess];
      const created = await call(b.url, 'POST', '/v1/sessions', { node: 'node-a' });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const session = { id: String(created.body['id']), token: String(created.body['token']) };
      const started = await call(
        b.url,
        'POST',
        `/v1/sessions/${session.id}/commands`,
        { command: 'cat', wait: false, interactive: { pty: { cols: 80, rows: 24 } }, timeoutMs: 60_000 },
        session.token,
      );
      expect(started.body['status'], JSON.stringify(started.body)).toBe('running');
      const path = `/v1/sessions/${session.id}/commands/${String(started.body['id'])}/pty`;
      const onA = `${a.url.replace(/^http/, 'ws')}${path}`;

      const tokenProtocol = `airlock.token.${Buffer.from(session.token).toString('base64url')}`;
      for (const [protocols, headers] of [
        [['airlock.pty.v1', tokenProtocol], {}],
        [['airlock.pty.v1'], { authorization: `Bearer ${session.token}` }],
      ] as const) {
        const refused = await upgrade(`${b.url.replace(/^http/, 'ws')}${path}`, [...protocols], headers);
        expect(refused.opened).toBe(false);
        if (refused.opened) return;
        expect(refused.status).toBe(400);
        const error = (JSON.parse(refused.body) as { error: { code: string; message: string } }).error;
        expect(error.code).toBe('INVALID_ARGUMENT');
        expect(error.message).toContain('node-a');
        expect(error.message).toContain(onA);
      }

      // Without a token: refused as unauthenticated, saying nothing of the node.
      const anonymous = await upgrade(`${b.url.replace(/^http/, 'ws')}${path}`, ['airlock.pty.v1']);
      expect(anonymous.opened).toBe(false);
      if (!anonymous.opened) {
        expect(anonymous.status).toBe(401);
        expect(anonymous.body).not.toContain(a.url.replace(/^http:\/\//, ''));
      }

      // The URL named works: typed text comes back through cat.
      const attached = await upgrade(onA, ['airlock.pty.v1', tokenProtocol]);
      expect(attached.opened).toBe(true);
      if (!attached.opened) return;
      let screen = '';
      attached.socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) screen += data.toString('utf8');
      });
      attached.socket.send(Buffer.from('across-nodes\r'));
      for (let i = 0; i < 100 && !screen.includes('across-nodes'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(screen).toContain('across-nodes');
      attached.socket.close();
      expect((await call(a.url, 'DELETE', `/v1/sessions/${session.id}`, undefined, ADMIN_TOKEN)).status).toBe(
        200,
      );
    }, 120_000);
  },
);
