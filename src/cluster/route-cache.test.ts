/**
 * The route cache answers for the present or asks the store: a remembered session follows its node's
 * state as the latest heartbeat snapshot gives it (a node declared lost is routed to the store, which
 * answers 410 with the reason), and whatever the cache cannot vouch for (an unknown id, a node that
 * registered again, an old snapshot, an unreachable node) is read from the store as before.
 */
import { describe, expect, it } from 'vitest';
import type { NodeRoute, NodeState, SessionRoute } from './node-table.ts';
import { createRouteCache } from './route-cache.ts';

const SESSION = `ses_${'a'.repeat(24)}`;
const SESSION_2 = `ses_${'b'.repeat(24)}`;
const UNKNOWN = `ses_${'f'.repeat(24)}`;

/** A store holding two sessions of node-a's run `run-a1`; counts the route queries it answers. */
function fakeStore(): {
  table: { routeOfSession(id: string): Promise<SessionRoute | null> };
  queries: () => number;
  setNode(state: NodeState, owner?: string): void;
} {
  let queries = 0;
  let node = { state: 'live' as NodeState, owner: 'run-a1' };
  return {
    table: {
      routeOfSession: (id) => {
        queries += 1;
        if (id !== SESSION && id !== SESSION_2) return Promise.resolve(null);
        const same = node.owner === 'run-a1';
        return Promise.resolve({
          sessionId: id,
          owner: 'run-a1',
          sessionActive: same && node.state === 'live',
          nodeId: same ? 'node-a' : null,
          advertiseUrl: same ? 'http://node-a.test:7400' : null,
          nodeState: same ? node.state : null,
        });
      },
    },
    queries: () => queries,
    setNode: (state, owner = 'run-a1') => {
      node = { state, owner };
    },
  };
}

const nodeA = (state: NodeState, owner = 'run-a1'): NodeRoute => ({
  nodeId: 'node-a',
  owner,
  advertiseUrl: 'http://node-a.test:7400',
  state,
});

function setup(maxSnapshotAgeMs = 5000) {
  const store = fakeStore();
  let clock = 1_000_000;
  const cache = createRouteCache({ table: store.table, maxSnapshotAgeMs, now: () => clock });
  return { store, cache, advance: (ms: number) => (clock += ms) };
}

describe('the route cache', () => {
  it('reads a session’s route from the store once, then from the heartbeat snapshot', async () => {
    const { store, cache } = setup();
    cache.nodes([nodeA('live')]);
    const first = await cache.routeOfSession(SESSION);
    expect(first).toMatchObject({ nodeId: 'node-a', nodeState: 'live', sessionActive: true });
    for (let i = 0; i < 5; i++) {
      expect(await cache.routeOfSession(SESSION)).toMatchObject({
        nodeId: 'node-a',
        advertiseUrl: 'http://node-a.test:7400',
        nodeState: 'live',
      });
    }
    expect(store.queries()).toBe(1);
  });

  it('routes a remembered session of a node declared lost as lost, from the next snapshot on', async () => {
    const { store, cache } = setup();
    cache.nodes([nodeA('live')]);
    await cache.routeOfSession(SESSION);
    store.setNode('lost');
    cache.nodes([nodeA('lost')]);
    // Not live: the layer serves it here, where the store answers 410 SESSION_ENDED with the reason.
    expect(await cache.routeOfSession(SESSION)).toMatchObject({ nodeId: 'node-a', nodeState: 'lost' });
    cache.nodes([nodeA('left')]);
    expect(await cache.routeOfSession(SESSION)).toMatchObject({ nodeState: 'left' });
  });

  it('never remembers an unknown session: each request for it asks the store (and gets 404)', async () => {
    const { store, cache } = setup();
    cache.nodes([nodeA('live')]);
    expect(await cache.routeOfSession(UNKNOWN)).toBeNull();
    expect(await cache.routeOfSession(UNKNOWN)).toBeNull();
    expect(store.queries()).toBe(2);
    expect(cache.cached(UNKNOWN)).toBe(false);
  });

  it('asks the store for a session of an earlier run of a node that registered again', async () => {
    const { store, cache } = setup();
    cache.nodes([nodeA('live')]);
    await cache.routeOfSession(SESSION);
    // node-a restarted: a new run owns the node's row, and the earlier run's sessions have ended.
    store.setNode('live', 'run-a2');
    cache.nodes([nodeA('live', 'run-a2')]);
    const route = await cache.routeOfSession(SESSION);
    expect(route).toMatchObject({ nodeId: null, sessionActive: false });
    expect(store.queries()).toBe(2);
  });

  it('asks the store when the snapshot is older than allowed', async () => {
    const { store, cache, advance } = setup(5000);
    cache.nodes([nodeA('live')]);
    await cache.routeOfSession(SESSION);
    advance(5001);
    store.setNode('lost');
    expect(await cache.routeOfSession(SESSION)).toMatchObject({ nodeState: 'lost', sessionActive: false });
    expect(store.queries()).toBe(2);
  });

  it('asks the store after a node did not answer, until the next snapshot', async () => {
    const { store, cache, advance } = setup(5000);
    cache.nodes([nodeA('live')]);
    await cache.routeOfSession(SESSION);
    expect(cache.cached(SESSION)).toBe(true);
    cache.distrust();
    expect(cache.cached(SESSION)).toBe(false);
    // Still live in the store (the node was slow, not lost): remembered, and the next round serves it.
    expect(await cache.routeOfSession(SESSION)).toMatchObject({ nodeState: 'live', sessionActive: true });
    expect(store.queries()).toBe(2);
    advance(1);
    cache.nodes([nodeA('live')]);
    expect(cache.cached(SESSION)).toBe(true);
  });

  it('never routes again to a run the store named lost, whatever a snapshot read in flight says', async () => {
    const { store, cache, advance } = setup(5000);
    cache.nodes([nodeA('live')]);
    await cache.routeOfSession(SESSION);
    await cache.routeOfSession(SESSION_2);
    // A forward fails; a round begins its read after that, while node-a is still live in the table...
    cache.distrust();
    const readAt = advance(10);
    // ...then another node declares node-a lost, and a request reads so from the store.
    store.setNode('lost');
    advance(10);
    expect(await cache.routeOfSession(SESSION)).toMatchObject({ nodeState: 'lost', sessionActive: false });
    // The round's read lands: it says live, but the store's word is newer and final.
    cache.nodes([nodeA('live')], readAt);
    expect(cache.cached(SESSION)).toBe(false);
    // Not just the session the store was asked about: the other session of that run too.
    expect(cache.cached(SESSION_2)).toBe(false);
    expect(await cache.routeOfSession(SESSION)).toMatchObject({ nodeState: 'lost', sessionActive: false });
    expect(await cache.routeOfSession(SESSION_2)).toMatchObject({ nodeState: 'lost', sessionActive: false });
  });

  it('does not take a snapshot read before a node failed to answer (read before it was declared lost)', async () => {
    const { store, cache, advance } = setup(5000);
    cache.nodes([nodeA('live')]);
    await cache.routeOfSession(SESSION);
    // A heartbeat round begins its read of the node table while node-a is still live there...
    const readAt = advance(10);
    advance(10);
    // ...another node declares node-a lost, a forward to node-a fails, and the store says so.
    store.setNode('lost');
    cache.distrust();
    expect(await cache.routeOfSession(SESSION)).toMatchObject({ nodeState: 'lost', sessionActive: false });
    // The round's stale read lands after that: it must not route to node-a as live again.
    cache.nodes([nodeA('live')], readAt);
    expect(cache.cached(SESSION)).toBe(false);
    expect(await cache.routeOfSession(SESSION)).toMatchObject({ nodeState: 'lost', sessionActive: false });
    // The session has ended: it is the store's to answer from now on (410 with the reason).
    cache.nodes([nodeA('lost')], advance(10));
    expect(await cache.routeOfSession(SESSION)).toMatchObject({ nodeState: 'lost' });
    expect(cache.cached(SESSION)).toBe(false);
  });

  it('asks the store before the first snapshot (adversarial: nothing is guessed)', async () => {
    const { store, cache } = setup();
    await cache.routeOfSession(SESSION);
    await cache.routeOfSession(SESSION);
    expect(store.queries()).toBe(2);
    expect(cache.cached(SESSION)).toBe(false);
  });

  it('forgets the oldest session past its bound and reads it again; unknown ids take no place', async () => {
    const store = fakeStore();
    const cache = createRouteCache({ table: store.table, maxSnapshotAgeMs: 5000, maxSessions: 1 });
    cache.nodes([nodeA('live')]);
    await cache.routeOfSession(SESSION);
    await cache.routeOfSession(UNKNOWN);
    expect(cache.cached(SESSION)).toBe(true);
    await cache.routeOfSession(SESSION_2);
    expect(cache.cached(SESSION_2)).toBe(true);
    expect(cache.cached(SESSION)).toBe(false);
    expect(await cache.routeOfSession(SESSION)).toMatchObject({ nodeId: 'node-a', nodeState: 'live' });
    expect(store.queries()).toBe(4);
  });
});
