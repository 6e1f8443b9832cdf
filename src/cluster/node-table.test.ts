/**
 * The cluster's rows against a real PostgreSQL: the cluster-wide session limit under nodes admitting
 * at once, lost-node detection by the database's clock (each lost node claimed exactly once), and
 * audit keys trusted only with the cluster secret's MAC.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectedAirlockError } from '../../test/support/airlock-errors.ts';
import { postgresSkipReason, startPostgres, type PostgresCluster } from '../../test/support/postgres.ts';
import { auditKeyId, openPostgresStore, type PostgresStore } from '../store/index.ts';
import { keyRegistration, trustedClusterKeys } from './audit-keys.ts';
import { createNodeTable, type NodeTable } from './node-table.ts';
import { clusterSecretOf } from './secret.ts';

const skip = postgresSkipReason();
const secret = clusterSecretOf(Buffer.from('q'.repeat(48)));
const load = { sessions: 0, memoryFreeBytes: 1, memoryTotalBytes: 2 };

function signingKey(): {
  keyId: string;
  privateKey: import('node:crypto').KeyObject;
  publicKey: import('node:crypto').KeyObject;
} {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyId: auditKeyId(publicKey), privateKey, publicKey };
}

describe.skipIf(skip !== undefined)(`the cluster's node table${skip ? ` (${skip})` : ''}`, () => {
  let postgres: PostgresCluster;
  let store: PostgresStore;
  let table: NodeTable;

  beforeAll(async () => {
    postgres = await startPostgres();
    store = await openPostgresStore({ url: await postgres.createDatabase('nodes') });
    table = createNodeTable(store);
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await postgres?.destroy();
  }, 60_000);

  it('never admits more sessions than sessions.maxTotal, however many nodes ask at once', async () => {
    const attempts = Array.from({ length: 12 }, (_, i) => table.reserve(`res_${i}`, `node-${i % 3}`, 5));
    const outcomes = await Promise.allSettled(attempts);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(5);
    const refused = await rejectedAirlockError(table.reserve('res_more', 'node-0', 5));
    expect(refused.code).toBe('LIMIT_REACHED');
    expect((await table.reservations()).get('node-0')).toBeGreaterThan(0);
    for (let i = 0; i < 12; i++) await table.release(`res_${i}`);
    await table.reserve('res_after', 'node-0', 5);
    await table.release('res_after');
  });

  it('claims a node whose heartbeat stopped as lost once, and trusts only keys the secret vouches for', async () => {
    const keyA = signingKey();
    const keyB = signingKey();
    for (const [nodeId, key] of [
      ['node-a', keyA],
      ['node-b', keyB],
    ] as const) {
      await table.register({
        nodeId,
        advertiseUrl: `http://127.0.0.1:1/${nodeId}`,
        owner: `host:${nodeId}:1`,
        maxSessions: 10,
        auditKey: keyRegistration(nodeId, key, secret),
      });
    }
    expect(await table.claimLost(60_000)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await table.heartbeat('node-b', 'host:node-b:1', load)).toBe('live');
    const [first, second] = await Promise.all([table.claimLost(1000), table.claimLost(1000)]);
    expect([...(first ?? []), ...(second ?? [])].map((node) => node.nodeId)).toEqual(['node-a']);
    expect((await table.list()).find((node) => node.nodeId === 'node-a')).toMatchObject({
      state: 'lost',
      lostReason: expect.stringMatching(/^no heartbeat for \d/),
    });
    // Its heartbeat, should it come back, is told it was declared lost.
    expect(await table.heartbeat('node-a', 'host:node-a:1', load)).toBe('lost');
    // The snapshot requests are routed by says so too, naming each node's run and address.
    expect((await table.routes()).sort((x, y) => x.nodeId.localeCompare(y.nodeId))).toEqual([
      { nodeId: 'node-a', owner: 'host:node-a:1', advertiseUrl: 'http://127.0.0.1:1/node-a', state: 'lost' },
      { nodeId: 'node-b', owner: 'host:node-b:1', advertiseUrl: 'http://127.0.0.1:1/node-b', state: 'live' },
    ]);

    expect((await trustedClusterKeys(table, secret)).keys.map((key) => key.keyId).sort()).toEqual(
      [keyA.keyId, keyB.keyId].sort(),
    );
    // A database writer without the secret swaps in a key of their own: refused.
    const intruder = signingKey();
    const pem = String(intruder.publicKey.export({ type: 'spki', format: 'pem' }));
    await store.query(
      'tamper',
      'UPDATE cluster_nodes SET audit_key_id = $1, audit_public_key = $2 WHERE node_id = $3',
      [intruder.keyId, pem, 'node-b'],
    );
    const trusted = await trustedClusterKeys(table, secret);
    expect(trusted.keys.map((key) => key.keyId)).toEqual([keyA.keyId]);
    expect(trusted.refused).toEqual([{ nodeId: 'node-b', reason: expect.stringMatching(/cluster secret/) }]);
  });
});
