import { expect, it } from 'vitest';
import { createApprovals } from '../router/index.ts';
import { openSqliteStore } from '../store/index.ts';
import { createEgressDecider } from './egress-approvals.ts';

it('answers a request that expired on its own deadline only once the connection stops waiting, so it is refused as a timeout', async () => {
  const store = openSqliteStore({ path: ':memory:' });
  const at = new Date().toISOString();
  await store.commit({
    sessions: [
      {
        id: 's1',
        state: 'active',
        driver: 'bwrap',
        sandboxId: null,
        spec: {},
        owner: 'test',
        createdAt: at,
        lastActiveAt: at,
        expiresAt: null,
        endedAt: null,
        endReason: null,
      },
    ],
  });
  const clock = { now: Date.now() };
  const approvals = createApprovals({ store, now: () => clock.now, pollIntervalMs: 10 });
  const decide = createEgressDecider({ approvals, approvalWaitMs: 1000, commandText: async () => undefined });
  const connection = new AbortController();
  let answer: string | undefined;
  const answered = decide(
    { sessionId: 's1', host: 'h.example.test', port: 80, protocol: 'http' },
    connection.signal,
  ).then((given) => (answer = given));
  // The request's deadline passes (as a busy event loop may see it) before the connection's does.
  clock.now += 5_000;
  await expect.poll(async () => (await approvals.list({ sessionId: 's1' }))[0]?.status).toBe('expired');
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(answer).toBeUndefined();
  connection.abort();
  await answered;
  expect(answer).toBe('deny');
  await store.close();
});
