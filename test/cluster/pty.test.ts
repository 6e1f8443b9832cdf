/**
 * The terminal WebSocket in a cluster: two `airlock serve` processes on one real PostgreSQL. An
 * upgrade reaching the node that does not run the session is forwarded to the node that does, for a
 * token sent either way: typed text comes back through it, and that node's frame bounds hold through
 * the relay. Adversarial: an unauthenticated upgrade learns nothing about where the session runs; a
 * token of another session is refused by the node that runs it; a browser signed in with the
 * dashboard's cookie (known to one node only) is told which node to open the terminal on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MAX_PTY_MESSAGE_BYTES } from '../../src/server/pty-frames.ts';
import { startPostgres, postgresSkipReason, type PostgresCluster } from '../support/postgres.ts';
import { ADMIN_TOKEN, call, clusterSecretFile, startNode, type ClusterProcess } from './cluster-process.ts';

const skip = postgresSkipReason();

type Upgrade =
  | { opened: true; socket: WebSocket; node: string | undefined }
  | { opened: false; status: number; body: string };

function upgrade(url: string, protocols: string[], headers: Record<string, string> = {}): Promise<Upgrade> {
  const socket = new WebSocket(url, protocols, { headers });
  return new Promise((resolve, reject) => {
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ opened: false, status: response.statusCode ?? 0, body }));
    });
    socket.once('error', reject);
    let node: string | undefined;
    socket.once('upgrade', (response) => {
      const header = response.headers['x-airlock-node'];
      node = Array.isArray(header) ? header[0] : header;
    });
    socket.once('open', () => resolve({ opened: true, socket, node }));
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

    async function startCat(via: ClusterProcess, session: { id: string; token: string }): Promise<string> {
      const started = await call(
        via.url,
        'POST',
        `/v1/sessions/${session.id}/commands`,
        { command: 'cat', wait: false, interactive: { pty: { cols: 80, rows: 24 } }, timeoutMs: 60_000 },
        session.token,
      );
      expect(started.body['status'], JSON.stringify(started.body)).toBe('running');
      return `/v1/sessions/${session.id}/commands/${String(started.body['id'])}/pty`;
    }

    async function echoes(socket: WebSocket, text: string): Promise<string> {
      let screen = '';
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) screen += data.toString('utf8');
      });
      socket.send(Buffer.from(`${text}\r`));
      for (let i = 0; i < 100 && !screen.includes(text); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return screen;
    }

    it('forwards an upgrade on the other node to the node that runs the session, for a token sent either way', async () => {
      const [a, b] = nodes as [ClusterProcess, ClusterProcess];
      const created = await call(b.url, 'POST', '/v1/sessions', { node: 'node-a' });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const session = { id: String(created.body['id']), token: String(created.body['token']) };
      const onB = (path: string): string => `${b.url.replace(/^http/, 'ws')}${path}`;
      const tokenProtocol = `airlock.token.${Buffer.from(session.token).toString('base64url')}`;
      for (const [protocols, headers] of [
        [['airlock.pty.v1', tokenProtocol], {}],
        [['airlock.pty.v1'], { authorization: `Bearer ${session.token}` }],
      ] as const) {
        const path = await startCat(b, session);
        const attached = await upgrade(onB(path), [...protocols], headers);
        expect(attached.opened).toBe(true);
        if (!attached.opened) return;
        // Node A answered the upgrade, through B.
        expect(attached.node).toBe('node-a');
        expect(await echoes(attached.socket, `across-nodes-${protocols.length}`)).toContain(
          `across-nodes-${protocols.length}`,
        );
        // A's frame bound holds through the relay: an oversized message closes the socket with 1009.
        const closed = new Promise<number>((resolve) =>
          attached.socket.once('close', (code) => resolve(code)),
        );
        attached.socket.send(Buffer.alloc(MAX_PTY_MESSAGE_BYTES + 1, 0x61));
        expect(await closed).toBe(1009);
      }

      const path = await startCat(b, session);
      // Without a token: refused as unauthenticated, saying nothing of the node.
      const anonymous = await upgrade(onB(path), ['airlock.pty.v1']);
      expect(anonymous.opened).toBe(false);
      if (!anonymous.opened) {
        expect(anonymous.status).toBe(401);
        expect(anonymous.body).not.toContain(a.url.replace(/^http:\/\//, ''));
      }

      // Another session's token: forwarded, and refused by the node that checks the session.
      const other = await call(b.url, 'POST', '/v1/sessions', { node: 'node-b' });
      const otherToken = `airlock.token.${Buffer.from(String(other.body['token'])).toString('base64url')}`;
      const foreign = await upgrade(onB(path), ['airlock.pty.v1', otherToken]);
      expect(foreign.opened).toBe(false);
      if (!foreign.opened) expect([403, 404]).toContain(foreign.status);

      // A browser signed in to B's dashboard: its cookie means nothing on A, so it is told where to go.
      const signIn = await fetch(`${b.url}/v1/auth/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: ADMIN_TOKEN }),
      });
      const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      expect(cookie).toMatch(/^airlock_session=/);
      const browser = await upgrade(onB(path), ['airlock.pty.v1'], { cookie });
      expect(browser.opened).toBe(false);
      if (!browser.opened) {
        expect(browser.status).toBe(400);
        const error = (JSON.parse(browser.body) as { error: { code: string; message: string } }).error;
        expect(error.message).toContain(`${a.url.replace(/^http/, 'ws')}${path}`);
      }
      expect((await call(a.url, 'DELETE', `/v1/sessions/${session.id}`, undefined, ADMIN_TOKEN)).status).toBe(
        200,
      );
    }, 120_000);
  },
);
