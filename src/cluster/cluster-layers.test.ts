/**
 * The fast path and Fastify's cluster layer together, on a real Fastify server: a request the fast
 * path took whose node turned out gone is handed to Fastify with its body (already read off the
 * connection) parsed as usual, and answered there from the store as any node answers it.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createForwarder } from './forward.ts';
import { installFrontDoor } from './front-door.ts';
import { installClusterLayer } from './http-layer.ts';
import type { SessionRoute } from './node-table.ts';
import type { Placement } from './placement.ts';
import type { RouteCache } from './route-cache.ts';
import { clusterSecretOf } from './secret.ts';

const DYING = `ses_${'e'.repeat(24)}`;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** An address nothing listens on any more: a node that died. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return `http://127.0.0.1:${port}`;
}

describe('a forward that finds its node gone', () => {
  it('is answered by Fastify from the store, with the JSON body it sent', async () => {
    const advertiseUrl = await deadUrl();
    let distrusted = false;
    // Live in the cache; the store, asked again after the failed forward, says the node was lost.
    const route = (sessionId: string): SessionRoute => ({
      sessionId,
      owner: 'run-x',
      sessionActive: !distrusted,
      nodeId: 'node-x',
      advertiseUrl,
      nodeState: distrusted ? 'lost' : 'live',
    });
    const routes: RouteCache = {
      routeOfSession: async (sessionId) => (sessionId === DYING ? route(sessionId) : null),
      nodes: () => undefined,
      distrust: () => {
        distrusted = true;
      },
      cached: () => true,
    };
    const secret = clusterSecretOf(Buffer.alloc(32, 3));
    const forwarder = createForwarder({ secret, nodeId: () => 'node-a' });
    const replayedBodies = new WeakMap<IncomingMessage, Buffer>();
    const common = {
      nodeId: () => 'node-a',
      table: { routeOfOutput: async () => null },
      routes,
      forwarder,
      health: () => ({ status: 'ok' as const }),
      isLocal: () => false,
      replayedBodies,
    };
    const app = Fastify();
    closers.push(() => app.close());
    installClusterLayer(app, {
      ...common,
      table: { ...common.table, routeOfSession: async () => null } as never,
      secret,
      placement: {} as Placement,
      defaultMemoryBytes: 1,
      nodeUrl: () => null,
    });
    // What a node's route does for a session whose node was lost: 410 with the store's reason.
    app.post('/v1/sessions/:id/commands', async (request, reply) =>
      reply.code(410).send({ error: { code: 'SESSION_ENDED' }, body: request.body }),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const outcomes: string[] = [];
    installFrontDoor(app.server, { ...common, closing: () => false, onForward: (o) => outcomes.push(o) });
    const { port } = app.server.address() as AddressInfo;
    const answer = await fetch(`http://127.0.0.1:${port}/v1/sessions/${DYING}/commands`, {
      method: 'POST',
      headers: { authorization: 'Bearer alk_sess_x', 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'echo hé' }),
    });
    expect(answer.status).toBe(410);
    expect(await answer.json()).toEqual({ error: { code: 'SESSION_ENDED' }, body: { command: 'echo hé' } });
    expect(outcomes).toEqual(['unreachable']);
  });
});
