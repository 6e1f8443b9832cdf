/**
 * The fast path in front of Fastify forwards only the plain case, a token-carrying request for another
 * live node's session, as a signed hop the other node can verify; every other request reaches the
 * listeners behind it (Fastify) untouched, to be decided there as before.
 */
import { once } from 'node:events';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createForwarder } from './forward.ts';
import { installFrontDoor, type FrontDoorOptions } from './front-door.ts';
import type { NodeHealth } from './membership.ts';
import type { SessionRoute } from './node-table.ts';
import type { RouteCache } from './route-cache.ts';
import { bodyDigest, clusterSecretOf } from './secret.ts';

const LOCAL = `ses_${'a'.repeat(24)}`;
const REMOTE = `ses_${'b'.repeat(24)}`;
const LOST = `ses_${'c'.repeat(24)}`;
const BROKEN = `ses_${'d'.repeat(24)}`;
/** A session of a node that has just died: live in the cache, lost in the store once asked again. */
const DYING = `ses_${'e'.repeat(24)}`;
/** A session of a node that does not answer but is not declared lost (yet). */
const SILENT = `ses_${'f'.repeat(24)}`;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{
  server: Server;
  url: string;
}> {
  const server = createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

function send(
  url: string,
  path: string,
  headers: Record<string, string | string[]>,
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(`${url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers });
    outgoing.on('error', reject);
    outgoing.on('response', (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () =>
        resolve({
          status: answer.statusCode ?? 0,
          headers: answer.headers,
          body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>,
        }),
      );
    });
    outgoing.end(body);
  });
}

async function setup(overrides: Partial<FrontDoorOptions> = {}) {
  const secret = clusterSecretOf(Buffer.alloc(32, 7));
  // Node b: checks the hop as a node does, and says what reached it.
  const nodeB = await listen((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const verdict = secret.verifyRequest(String(request.headers['x-airlock-cluster']), {
        method: request.method ?? 'GET',
        url: request.url ?? '/',
        to: 'node-b',
      });
      response.writeHead(200, { 'content-type': 'application/json', 'x-airlock-node': 'node-b' });
      response.end(
        JSON.stringify({
          answeredBy: 'node-b',
          verified: verdict.ok && verdict.body === bodyDigest(body),
          url: request.url,
          headers: request.headers,
          body: body.toString(),
        }),
      );
    });
  });
  // A port nothing listens on: a node that died.
  const dead = await listen(() => undefined);
  dead.server.close();
  await once(dead.server, 'close');
  let distrusted = false;
  const route = (sessionId: string): SessionRoute | null => {
    if (sessionId === BROKEN) throw new Error('the store did not answer');
    if (sessionId === DYING || sessionId === SILENT) {
      const lost = sessionId === DYING && distrusted;
      return {
        sessionId,
        owner: 'run-x',
        sessionActive: !lost,
        nodeId: 'node-x',
        advertiseUrl: dead.url,
        nodeState: lost ? 'lost' : 'live',
      };
    }
    if (sessionId !== REMOTE && sessionId !== LOST) return null;
    return {
      sessionId,
      owner: 'run-b',
      sessionActive: true,
      nodeId: 'node-b',
      advertiseUrl: nodeB.url,
      nodeState: sessionId === LOST ? 'lost' : 'live',
    };
  };
  const routes: RouteCache = {
    routeOfSession: async (sessionId) => route(sessionId),
    nodes: () => undefined,
    distrust: () => {
      distrusted = true;
    },
    cached: () => true,
  };
  const outcomes: string[] = [];
  const state = { closing: false, health: { status: 'ok' } as NodeHealth };
  // Node a: Fastify stands behind the fast path; here, a listener that says it got the request.
  const replayedBodies = new WeakMap<IncomingMessage, Buffer>();
  const nodeA = await listen((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    const replayed = replayedBodies.get(request)?.toString();
    response.end(JSON.stringify({ answeredBy: 'behind', url: request.url, replayed }));
  });
  installFrontDoor(nodeA.server, {
    nodeId: () => 'node-a',
    table: { routeOfOutput: async () => null },
    routes,
    isLocal: (id) => id === LOCAL,
    health: () => state.health,
    closing: () => state.closing,
    forwarder: createForwarder({ secret, nodeId: () => 'node-a' }),
    onForward: (outcome) => outcomes.push(outcome),
    replayedBodies,
    ...overrides,
  });
  return { url: nodeA.url, nodeB: nodeB.url, outcomes, state };
}

const TOKEN = { authorization: 'Bearer alk_sess_x' };

describe('the cluster fast path in front of Fastify', () => {
  it("forwards a request for another node's session as a hop that node verifies, headers as sent", async () => {
    const { url, nodeB, outcomes } = await setup();
    const answer = await send(
      url,
      `/v1/sessions/${REMOTE}/commands?wait=true`,
      {
        ...TOKEN,
        'content-type': 'application/json',
        'x-forwarded-for': '192.0.2.1',
        'x-custom': 'kept',
        'keep-alive': 'timeout=5',
      },
      '{"command":"sleep 0.1"}',
    );
    expect(answer.status).toBe(200);
    expect(answer.headers['x-airlock-node']).toBe('node-b');
    expect(answer.body).toMatchObject({
      answeredBy: 'node-b',
      verified: true,
      url: `/v1/sessions/${REMOTE}/commands?wait=true`,
      body: '{"command":"sleep 0.1"}',
    });
    const headers = answer.body['headers'] as Record<string, string>;
    expect(headers['authorization']).toBe('Bearer alk_sess_x');
    expect(headers['x-custom']).toBe('kept');
    expect(headers['x-forwarded-for']).toBe('192.0.2.1, 127.0.0.1');
    expect(headers['keep-alive']).toBeUndefined();
    expect(headers['host']).toBe(new URL(nodeB).host);
    expect(outcomes).toEqual(['forwarded']);
  });

  it('hands everything else to the listeners behind it, untouched', async () => {
    const { url, state, outcomes } = await setup();
    const behind = async (path: string, headers: Record<string, string> = TOKEN): Promise<unknown> =>
      (await send(url, path, headers)).body['answeredBy'];
    // Its own session; no session at all; no token; a hop another node signed.
    expect(await behind(`/v1/sessions/${LOCAL}`)).toBe('behind');
    expect(await behind('/v1/approvals')).toBe('behind');
    expect(await behind(`/v1/sessions/${REMOTE}`, {})).toBe('behind');
    expect(await behind(`/v1/sessions/${REMOTE}`, { ...TOKEN, 'x-airlock-cluster': 'v2 x' })).toBe('behind');
    // A lost node's session (answered from the store there), and a route the store could not give.
    expect(await behind(`/v1/sessions/${LOST}`)).toBe('behind');
    expect(await behind(`/v1/sessions/${BROKEN}`)).toBe('behind');
    // Without the database, and while stopping: the rules of Fastify's layer answer.
    state.health = { status: 'unavailable', reason: 'the database is gone', sinceMs: 1 };
    expect(await behind(`/v1/sessions/${REMOTE}`)).toBe('behind');
    state.health = { status: 'ok' };
    state.closing = true;
    expect(await behind(`/v1/sessions/${REMOTE}`)).toBe('behind');
    expect(outcomes).toEqual([]);
  });

  it('answers 500 when passing a request on fails, and goes on serving (adversarial: no crash)', async () => {
    const failing = {
      forward: () => Promise.reject(new Error('a header the hop refused')),
      upgrade: () => Promise.resolve('forwarded' as const),
    };
    const { url } = await setup({ forwarder: failing });
    const answer = await send(url, `/v1/sessions/${REMOTE}`, TOKEN);
    expect(answer.status).toBe(500);
    expect(answer.body).toMatchObject({ error: { code: 'INTERNAL' } });
    expect(JSON.stringify(answer.body)).toContain('node node-b');
    expect((await send(url, `/v1/sessions/${LOCAL}`, TOKEN)).body['answeredBy']).toBe('behind');
  });

  it('hands a request on, body and all, when its node did not answer and the store says it is lost', async () => {
    const { url, outcomes } = await setup();
    // The cache still says live; the store, asked again, says the node was lost: answered behind
    // (410 SESSION_ENDED there, after authenticating the caller), not 503.
    const answer = await send(url, `/v1/sessions/${DYING}/commands`, TOKEN, '{"command":"echo hi"}');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ answeredBy: 'behind', replayed: '{"command":"echo hi"}' });
    expect(outcomes).toEqual(['unreachable']);
  });

  it('answers 503 NODE_UNREACHABLE when the store still says the silent node runs the session', async () => {
    const { url } = await setup();
    const answer = await send(url, `/v1/sessions/${SILENT}/commands`, TOKEN, '{"command":"echo hi"}');
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ error: { code: 'NODE_UNREACHABLE' } });
  });
});
