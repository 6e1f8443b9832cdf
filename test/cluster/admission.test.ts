/**
 * Two `airlock serve` processes on one real PostgreSQL: the cluster-wide session limit holds whichever
 * node is asked, placement passes over a node without the memory for a session, approvals still reach
 * the waiting node after its LISTEN connection was killed, and a node refuses a forwarded request whose
 * body is not the one its signature vouches for.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyDigest, clusterSecretOf, newNonce } from '../../src/cluster/secret.ts';
import { postgresSkipReason, startPostgres, type PostgresCluster } from '../support/postgres.ts';
import { ADMIN_TOKEN, call, clusterSecretFile, startNode, type ClusterProcess } from './cluster-process.ts';

const skip = postgresSkipReason();
const MAX_TOTAL = 3;
/** The poll a waiting approval falls back on with LISTEN (router/approve NOTIFIED_POLL_INTERVAL_MS). */
const SAFETY_POLL_MS = 10_000;

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe.skipIf(skip !== undefined)(`two control planes sharing limits${skip ? ` (${skip})` : ''}`, () => {
  let postgres: PostgresCluster;
  let storeUrl: string;
  let secretFile: string;
  let db: pg.Client;
  let a: ClusterProcess;
  let b: ClusterProcess;

  beforeAll(async () => {
    postgres = await startPostgres();
    storeUrl = await postgres.createDatabase('admission');
    secretFile = clusterSecretFile();
    const extraYaml = [
      'sandbox:',
      '  memory: 256m',
      'sessions:',
      '  max: 5',
      `  maxTotal: ${MAX_TOTAL}`,
      'router:',
      '  approvalRequiredFor: ["touch"]',
    ].join('\n');
    a = await startNode({ nodeId: 'node-a', storeUrl, secretFile, extraYaml });
    b = await startNode({ nodeId: 'node-b', storeUrl, secretFile, extraYaml });
    db = new pg.Client({ connectionString: storeUrl });
    await db.connect();
  }, 180_000);

  afterAll(async () => {
    await db?.end().catch(() => undefined);
    for (const node of [a, b]) await node?.kill('SIGTERM').catch(() => undefined);
    await postgres?.destroy();
  }, 60_000);

  const create = (via: ClusterProcess, body: Record<string, unknown> = {}) =>
    call(via.url, 'POST', '/v1/sessions', body);
  const destroy = (id: string) => call(a.url, 'DELETE', `/v1/sessions/${id}`);

  it('places a session on the node with the memory for it, whatever the load', async () => {
    // Node A's machine has 64 MiB free, as A reports it: pinned in the store, since both nodes here
    // share one machine's memory.
    await db.query(`
      CREATE FUNCTION pin_memory() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.node_id = 'node-a' THEN NEW.memory_free_bytes := 64 * 1024 * 1024; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER pin_memory BEFORE UPDATE ON cluster_nodes FOR EACH ROW EXECUTE FUNCTION pin_memory();
      UPDATE cluster_nodes SET heartbeat_at = heartbeat_at WHERE node_id = 'node-a';
    `);
    try {
      const ids: string[] = [];
      try {
        // Two 256 MiB sessions asked of A: both go to B, though B is then the busier node.
        for (let i = 0; i < 2; i++) {
          const created = await create(a);
          expect(created.status, JSON.stringify(created.body)).toBe(201);
          ids.push(String(created.body['id']));
          expect(created.node).toBe('node-b');
        }
        // A session small enough for A's memory goes to the less loaded A.
        const small = await create(a, { memoryBytes: 32 * 1024 * 1024 });
        expect(small.status, JSON.stringify(small.body)).toBe(201);
        ids.push(String(small.body['id']));
        expect(small.node).toBe('node-a');
      } finally {
        for (const id of ids) await destroy(id);
      }
    } finally {
      await db.query('DROP TRIGGER pin_memory ON cluster_nodes; DROP FUNCTION pin_memory()');
    }
  }, 120_000);

  it(`refuses a session past sessions.maxTotal (${MAX_TOTAL}) whichever node is asked, and admits one again after an end`, async () => {
    const ids: string[] = [];
    try {
      for (let i = 0; i < MAX_TOTAL; i++) {
        const created = await create(i % 2 === 0 ? a : b);
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        ids.push(String(created.body['id']));
      }
      // Each node is under its own max (5): only the cluster's total refuses.
      for (const [via, body] of [
        [a, {}],
        [b, {}],
        [a, { node: 'node-b' }],
        [b, { node: 'node-b' }],
      ] as const) {
        const refused = await create(via, body);
        expect(refused.status, JSON.stringify(refused.body)).toBe(429);
        expect(refused.body).toMatchObject({
          error: { code: 'LIMIT_REACHED', details: { scope: 'cluster', limit: MAX_TOTAL } },
        });
      }
      const active = await call(b.url, 'GET', '/v1/sessions?state=active');
      expect((active.body['sessions'] as unknown[]).length).toBe(MAX_TOTAL);

      const ended = ids.shift() ?? '';
      expect((await destroy(ended)).status).toBe(200);
      const again = await create(b);
      expect(again.status, JSON.stringify(again.body)).toBe(201);
      ids.push(String(again.body['id']));
    } finally {
      for (const id of ids) await destroy(id);
    }
  }, 120_000);

  it('still delivers an approval decided on another node after the LISTEN connection was killed', async () => {
    const created = await create(b, { node: 'node-a' });
    expect(created.node).toBe('node-a');
    const sessionId = String(created.body['id']);
    const listeners = async (): Promise<number> =>
      (
        await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'airlock-listen' AND query ILIKE 'LISTEN%'",
        )
      ).rows[0]?.n ?? 0;
    const approveOnB = async (): Promise<number> => {
      let approvalId = '';
      for (let i = 0; i < 100 && approvalId === ''; i++) {
        const pending = await call(b.url, 'GET', '/v1/approvals?status=pending');
        const list = (pending.body['approvals'] ?? []) as { id: string; sessionId: string }[];
        approvalId = list.find((approval) => approval.sessionId === sessionId)?.id ?? '';
        if (approvalId === '') await sleep(100);
      }
      expect(approvalId).not.toBe('');
      const decided = await call(b.url, 'POST', `/v1/approvals/${approvalId}`, { decision: 'approve' });
      expect(decided.status, JSON.stringify(decided.body)).toBe(200);
      return Date.now();
    };
    try {
      expect(await listeners()).toBe(2);
      for (const round of ['while the listener is down', 'once it is back']) {
        const waiting = call(a.url, 'POST', `/v1/sessions/${sessionId}/commands`, {
          command: `touch ok && echo ran-${round.length}`,
        });
        if (round === 'while the listener is down') {
          await sleep(500);
          const killed = await db.query<{ pid: number }>(
            "SELECT pid, pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = 'airlock-listen'",
          );
          expect(killed.rows.length).toBe(2);
        }
        const decidedAt = await approveOnB();
        const ran = await waiting;
        expect(ran.body, round).toMatchObject({ status: 'completed', exitCode: 0 });
        // Well before the safety poll: the decision reached A by its announcement (or the wake-up of
        // every waiter when A's listener came back), not by polling the store.
        expect(Date.now() - decidedAt, round).toBeLessThan(SAFETY_POLL_MS / 2);
        if (round === 'while the listener is down') {
          const started = Date.now();
          while ((await listeners()) < 2 && Date.now() - started < 10_000) await sleep(200);
          expect(await listeners()).toBe(2);
        }
      }
    } finally {
      await destroy(sessionId);
    }
  }, 120_000);

  it('refuses a forwarded request whose body is not the one its signature vouches for (adversarial)', async () => {
    const created = await create(a, { node: 'node-a' });
    const sessionId = String(created.body['id']);
    const secret = clusterSecretOf(Buffer.from(readFileSync(secretFile, 'utf8').trim(), 'utf8'));
    const path = `/v1/sessions/${sessionId}/commands`;
    const send = (signedBody: string, sentBody: string) =>
      fetch(`${a.url}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          'content-type': 'application/json',
          'x-airlock-cluster': secret.signRequest({
            method: 'POST',
            url: path,
            from: 'node-b',
            to: 'node-a',
            at: Date.now(),
            nonce: newNonce(),
            body: bodyDigest(signedBody),
          }),
        },
        body: sentBody,
      });
    const sendStreamed = (signedBody: string, sentBody: string) =>
      new Promise<number>((resolve, reject) => {
        const nonce = newNonce();
        const url = new URL(path, a.url);
        const request = httpRequest(url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${ADMIN_TOKEN}`,
            'content-type': 'application/json',
            'transfer-encoding': 'chunked',
            trailer: 'x-airlock-cluster-body',
            'x-airlock-cluster': secret.signRequest({
              method: 'POST',
              url: path,
              from: 'node-b',
              to: 'node-a',
              at: Date.now(),
              nonce,
              body: 'trailer',
            }),
          },
        });
        request.on('response', (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.on('error', reject);
        request.write(sentBody);
        request.addTrailers({
          'x-airlock-cluster-body': secret.signBody(
            { from: 'node-b', to: 'node-a', nonce },
            bodyDigest(signedBody),
          ),
        });
        request.end();
      });
    try {
      const honest = JSON.stringify({ command: 'echo signed' });
      const tampered = JSON.stringify({ command: 'echo tampered' });
      const refused = await send(honest, tampered);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
      expect(await sendStreamed(honest, tampered)).toBe(401);
      const listed = await call(a.url, 'GET', `/v1/commands?sessionId=${sessionId}`);
      expect(JSON.stringify(listed.body)).not.toContain('tampered');
      // The same requests with the body they sign are served: the refusals were for the body alone.
      expect((await send(honest, honest)).status).toBe(200);
      expect(await sendStreamed(honest, honest)).toBe(200);
      // A file upload forwarded by B to A streams through with its trailer, and arrives whole.
      const bytes = Buffer.alloc(300_000, 7);
      const upload = await fetch(`${b.url}/v1/sessions/${sessionId}/files?path=/workspace/blob`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      expect(upload.status, await upload.clone().text()).toBe(200);
      expect(upload.headers.get('x-airlock-node')).toBe('node-a');
      const back = await fetch(`${b.url}/v1/sessions/${sessionId}/files?path=/workspace/blob`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(Buffer.from(await back.arrayBuffer()).equals(bytes)).toBe(true);
      // A small one is read by B first and signed in the hop's header: it arrives whole too.
      const small = Buffer.alloc(20_000, 9);
      const put = await fetch(`${b.url}/v1/sessions/${sessionId}/files?path=/workspace/small`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' },
        body: small,
      });
      expect(put.status, await put.clone().text()).toBe(200);
      expect(put.headers.get('x-airlock-node')).toBe('node-a');
      const smallBack = await fetch(`${b.url}/v1/sessions/${sessionId}/files?path=/workspace/small`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(Buffer.from(await smallBack.arrayBuffer()).equals(small)).toBe(true);
    } finally {
      await destroy(sessionId);
    }
  }, 120_000);
});
