/**
 * A node that loses its database stops taking new work and says why on /healthz, then serves again
 * once the database is back; the sessions it held while cut off past the failure timeout are ended
 * (the rest of a cluster would have declared it lost and ended them in the store).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresSkipReason, startPostgres, type PostgresCluster } from '../support/postgres.ts';
import { call, clusterSecretFile, startNode, type ClusterProcess } from './cluster-process.ts';

const skip = postgresSkipReason();

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const started = Date.now();
  let value = await read();
  while (!done(value) && Date.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await read();
  }
  return value;
}

describe.skipIf(skip !== undefined)(`a node whose database goes away${skip ? ` (${skip})` : ''}`, () => {
  let postgres: PostgresCluster;
  let node: ClusterProcess;

  beforeAll(async () => {
    postgres = await startPostgres();
    const storeUrl = await postgres.createDatabase('loss');
    node = await startNode({ nodeId: 'node-solo', storeUrl, secretFile: clusterSecretFile() });
  }, 120_000);

  afterAll(async () => {
    await node?.kill('SIGTERM').catch(() => undefined);
    await postgres?.destroy();
  }, 60_000);

  it('answers 503 with the reason on /healthz and refuses new work, then recovers', async () => {
    const healthy = await call(node.url, 'GET', '/healthz');
    expect(healthy.status).toBe(200);
    const created = await call(node.url, 'POST', '/v1/sessions', {});
    expect(created.status).toBe(201);
    const sessionId = String(created.body['id']);

    await postgres.stop();
    const down = await until(
      () => call(node.url, 'GET', '/healthz'),
      // A read of the store may fail first (503 STORE_UNAVAILABLE); the node's own verdict follows.
      (reply) => reply.status === 503 && reply.body['status'] === 'unavailable',
      10_000,
    );
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'unavailable', node: 'node-solo' });
    expect(String(down.body['reason'])).toMatch(/store cannot be reached/);
    const refused = await call(node.url, 'POST', '/v1/sessions', {});
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: { code: 'STORE_UNAVAILABLE' } });
    // Past the failure timeout (2 s) the node has ended what it ran: no sandbox outlives its record.
    await new Promise((resolve) => setTimeout(resolve, 3000));

    await postgres.start();
    const back = await until(
      () => call(node.url, 'GET', '/healthz'),
      (reply) => reply.status === 200,
      15_000,
    );
    expect(back.status).toBe(200);
    const ended = await call(node.url, 'GET', `/v1/sessions/${sessionId}`);
    expect(ended.body['state']).toBe('ended');
    const again = await call(node.url, 'POST', '/v1/sessions', {});
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    const ran = await call(node.url, 'POST', `/v1/sessions/${String(again.body['id'])}/commands`, {
      command: 'echo back',
    });
    expect(String(ran.body['stdout'])).toContain('back');
  }, 120_000);
});
