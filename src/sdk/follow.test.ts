/**
 * In a cluster, a session's handle sends its requests to the node that runs it once an answer names
 * that node (x-airlock-node-url), only to an origin of the configured scheme, and back to the
 * configured URL for good when that node does not answer; the client's other calls never move.
 */
import { describe, expect, it } from 'vitest';
import { AirlockClient } from './client.ts';
import { isAirlockApiError } from './errors.ts';
import { fakeFetch, json, runResult } from './test-support.ts';
import type { Handler } from './test-support.ts';

const CONFIGURED = 'http://lb.example:7400';
const NODE_B = 'http://node-b.example:7401';
const created = { id: 'ses_1', token: 'alk_sess_test', state: 'active' };

/** A cluster behind a load balancer whose answers about ses_1 name `nodeUrl`. */
function cluster(nodeUrl: string | null, nodeB?: Handler, url = CONFIGURED, follow?: boolean) {
  const named = nodeUrl === null ? {} : { 'x-airlock-node-url': nodeUrl };
  const fake = fakeFetch((request) => {
    if (request.url.origin === new URL(NODE_B).origin && nodeB !== undefined) return nodeB(request);
    if (request.method === 'POST' && request.url.pathname.endsWith('/v1/sessions'))
      return json(created, 201, named);
    if (request.url.pathname.endsWith('/v1/approvals')) return json({ approvals: [] });
    return json(runResult(), 200, named);
  });
  const client = new AirlockClient({
    url,
    token: 'alk_admin_test',
    fetch: fake.fetch,
    ...(follow === undefined ? {} : { followSessionNode: follow }),
  });
  const origins = (): string[] => fake.requests.map((request) => request.url.origin);
  return { client, requests: fake.requests, origins };
}

const refused = (code: string): never => {
  throw new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
};

describe("following a session's node", () => {
  it('sends a session’s later requests to the node its answers name, and nothing else', async () => {
    const { client, requests, origins } = cluster(NODE_B, () => json(runResult(), 200, {}));
    const session = await client.sessions.create();
    await session.run('echo hi');
    await session.info();
    await client.approvals.list();
    expect(origins()).toEqual([CONFIGURED, NODE_B, NODE_B, CONFIGURED]);
    // The session's own token goes to its node, as it would through the load balancer's hop.
    expect(requests[1]?.headers.get('authorization')).toBe('Bearer alk_sess_test');
  });

  it('learns the node from any answer about the session, also on a handle made with connect', async () => {
    const { client, origins } = cluster(NODE_B, () => json(runResult(), 200, {}));
    const session = await client.sessions.connect('ses_1', { token: 'alk_sess_test' });
    await session.run('echo hi');
    expect(origins()).toEqual([CONFIGURED, NODE_B]);
  });

  it('follows no other scheme, no URL with more than an origin, and never from a configured path', async () => {
    for (const [named, url] of [
      ['https://node-b.example:7401', CONFIGURED],
      ['http://user:pw@node-b.example:7401', CONFIGURED],
      ['http://node-b.example:7401/elsewhere', CONFIGURED],
      ['javascript:alert(1)', CONFIGURED],
      ['not a url', CONFIGURED],
      [NODE_B, `${CONFIGURED}/airlock`],
    ] as const) {
      const { client, origins } = cluster(named, () => json(runResult()), url);
      const session = await client.sessions.create();
      await session.run('echo hi');
      expect(origins(), `${named} from ${url}`).toEqual([CONFIGURED, CONFIGURED]);
    }
  });

  it('does not follow when told not to', async () => {
    const { client, origins } = cluster(NODE_B, () => json(runResult()), CONFIGURED, false);
    const session = await client.sessions.create();
    await session.run('echo hi');
    expect(origins()).toEqual([CONFIGURED, CONFIGURED]);
  });

  it('sends a request the node never received to the configured URL, and stays there', async () => {
    const { client, origins } = cluster(NODE_B, () => refused('ECONNREFUSED'));
    const session = await client.sessions.create();
    expect((await session.run('echo hi')).status).toBe('completed');
    // The answer through the load balancer names the node again: it is not tried again.
    await session.run('echo again');
    expect(origins()).toEqual([CONFIGURED, NODE_B, CONFIGURED, CONFIGURED]);
  });

  it('does not send again a request the node may have received, and goes back to the configured URL', async () => {
    const { client, origins } = cluster(NODE_B, () => refused('ECONNRESET'));
    const session = await client.sessions.create();
    const error = await session.run('echo hi').catch((thrown: unknown) => thrown);
    expect(isAirlockApiError(error, 'CONNECTION_FAILED')).toBe(true);
    await session.run('echo again');
    expect(origins()).toEqual([CONFIGURED, NODE_B, CONFIGURED]);
  });
});
