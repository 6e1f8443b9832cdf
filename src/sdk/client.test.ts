import { describe, expect, it } from 'vitest';
import { AirlockClient } from './client.ts';
import { isAirlockApiError } from './errors.ts';
import { MAX_LINE_CHARS } from './lines.ts';
import { chunked, endlessBody, fakeFetch, json, runResult } from './test-support.ts';
import type { Handler, RecordedRequest } from './test-support.ts';

const ADMIN = 'alk_admin_test';
const SESSION_TOKEN = 'alk_sess_test';

function sse(...events: Array<[string, unknown]>): string[] {
  return [
    ': stream open\n\n',
    ...events.map(([type, data]) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`),
  ];
}

function setup(handler: Handler) {
  const fake = fakeFetch(handler);
  const client = new AirlockClient({ url: 'http://127.0.0.1:7400/', token: ADMIN, fetch: fake.fetch });
  return { client, requests: fake.requests };
}

function describeRequest(request: RecordedRequest | undefined): string {
  return request === undefined ? 'none' : `${request.method} ${request.url.pathname}${request.url.search}`;
}

function bodyOf(request: RecordedRequest | undefined): unknown {
  return request?.body === undefined ? undefined : JSON.parse(new TextDecoder().decode(request.body));
}

const created = { id: 'ses_1', token: SESSION_TOKEN, state: 'active' };

describe('AirlockClient', () => {
  it('creates a session with the admin token, then calls as the session with its own token', async () => {
    const { client, requests } = setup((request) =>
      request.method === 'POST' && request.url.pathname === '/v1/sessions'
        ? json(created, 201)
        : json(runResult()),
    );
    const session = await client.sessions.create({
      policy: 'coding-agent',
      timeoutMs: 5000,
      requestTimeoutMs: 9000,
    });
    expect([session.id, session.token]).toEqual(['ses_1', SESSION_TOKEN]);
    // Call options never leak into the wire body; `timeoutMs` is the session's per-command default.
    expect(bodyOf(requests[0])).toEqual({ policy: 'coding-agent', timeoutMs: 5000 });
    expect(requests[0]?.headers.get('authorization')).toBe(`Bearer ${ADMIN}`);
    expect(requests[0]?.headers.get('content-type')).toBe('application/json');

    const result = await session.run('echo hi', { timeoutMs: 2000 });
    expect(result.stdout).toBe('hi\n');
    expect(describeRequest(requests[1])).toBe('POST /v1/sessions/ses_1/commands');
    expect(bodyOf(requests[1])).toEqual({ command: 'echo hi', wait: true, timeoutMs: 2000 });
    expect(requests[1]?.headers.get('authorization')).toBe(`Bearer ${SESSION_TOKEN}`);
  });

  it('sends no token to /healthz', async () => {
    const { client, requests } = setup(() => json({ status: 'ok', sessions: 0 }));
    expect(await client.health()).toEqual({ status: 'ok', sessions: 0 });
    expect(requests[0]?.headers.get('authorization')).toBeNull();
  });

  it('connects to an existing session after checking it, with a given token or the client token', async () => {
    const { client, requests } = setup(() => json({ id: 'ses_9', state: 'active' }));
    const session = await client.sessions.connect('ses_9', { token: 'alk_sess_other' });
    expect(session.token).toBe('alk_sess_other');
    expect(describeRequest(requests[0])).toBe('GET /v1/sessions/ses_9');
    expect(requests[0]?.headers.get('authorization')).toBe('Bearer alk_sess_other');
    await client.sessions.connect('ses_9');
    expect(requests[1]?.headers.get('authorization')).toBe(`Bearer ${ADMIN}`);
  });

  it('streams a started command: output events in order, then the final status', async () => {
    const final = runResult({ stdout: 'a\nb\n' });
    const { client, requests } = setup((request) => {
      if (request.url.pathname.endsWith('/commands'))
        return json(runResult({ status: 'running', stdout: '' }));
      if (!request.url.pathname.endsWith('/events')) return json({ id: 'ses_1' });
      return chunked(
        sse(
          ['output', { stream: 'stdout', text: 'a\n' }],
          ['output', { stream: 'stderr', text: 'w\n' }],
          ['status', final],
        ),
        'text/event-stream; charset=utf-8',
      );
    });
    const session = await client.sessions.connect('ses_1');
    const handle = await session.start('make');
    expect(bodyOf(requests[1])).toEqual({ command: 'make', wait: false });
    const events = [];
    for await (const event of handle) events.push(event);
    expect(events).toEqual([
      { type: 'output', stream: 'stdout', text: 'a\n' },
      { type: 'output', stream: 'stderr', text: 'w\n' },
      { type: 'status', result: final },
    ]);
    expect(describeRequest(requests[2])).toBe('GET /v1/sessions/ses_1/commands/cmd_1/events');
    expect(requests[2]?.headers.get('accept')).toBe('text/event-stream');
  });

  it('answers wait() for a command that ended at start without another request', async () => {
    const denied = runResult({ status: 'denied', decision: 'deny' });
    const { client, requests } = setup(() => json(denied));
    const session = await client.sessions.connect('ses_1');
    const handle = await session.start('curl x | sh');
    expect(await handle.wait()).toEqual(denied);
    expect(requests).toHaveLength(2);
  });

  it('reconnects in wait() when the stream closes early while the command still runs', async () => {
    let streams = 0;
    const final = runResult();
    const { client } = setup((request) => {
      if (request.url.pathname.endsWith('/events')) {
        streams++;
        return chunked(streams === 1 ? [': open\n\n'] : sse(['status', final]), 'text/event-stream');
      }
      return json(runResult({ status: 'running' }));
    });
    const handle = (await client.sessions.connect('ses_1')).commands.connect('cmd_1');
    expect(await handle.wait({ timeoutMs: 5000 })).toEqual(final);
    expect(streams).toBe(2);
    // Iterating the same early-closing stream directly says what happened instead of ending quietly.
    streams = 0;
    const error = await (async () => {
      for await (const _event of handle.events()) void _event;
    })().catch((e: unknown) => e);
    expect(isAirlockApiError(error, 'STREAM_INTERRUPTED')).toBe(true);
  });

  it("raises the server's code from an `error` event and INVALID_RESPONSE for a stream that is not SSE", async () => {
    let kind = 'error-event';
    const { client } = setup((request) => {
      if (!request.url.pathname.endsWith('/events')) return json({ id: 'ses_1' });
      return kind === 'error-event'
        ? chunked(sse(['error', { code: 'SANDBOX_LOST', message: 'gone' }]), 'text/event-stream')
        : json({ not: 'sse' });
    });
    const handle = (await client.sessions.connect('ses_1')).commands.connect('cmd_1');
    const drain = () =>
      (async () => {
        for await (const _event of handle) void _event;
      })().catch((e: unknown) => e);
    expect(await drain()).toMatchObject({ code: 'SANDBOX_LOST', message: 'gone' });
    kind = 'json';
    expect(await drain()).toMatchObject({ code: 'INVALID_RESPONSE' });
  });

  it('pages a whole output, and refuses a server that does not move forward', async () => {
    const text = 'x'.repeat(25);
    let stuck = false;
    const { client, requests } = setup((request) => {
      const offset = Number(request.url.searchParams.get('offset'));
      const limit = Number(request.url.searchParams.get('limit'));
      const next = offset + limit >= text.length ? null : stuck ? offset : offset + limit;
      return json({
        id: 'out_1',
        stream: 'stdout',
        offset,
        text: text.slice(offset, offset + limit),
        totalChars: 25,
        nextOffset: next,
      });
    });
    expect(await client.outputs.readAll('out_1', { limit: 10 })).toBe(text);
    expect(requests.map((r) => r.url.searchParams.get('offset'))).toEqual(['0', '10', '20']);
    stuck = true;
    const error = await client.outputs.readAll('out_1', { limit: 10 }).catch((e: unknown) => e);
    expect(isAirlockApiError(error, 'INVALID_RESPONSE')).toBe(true);
  });

  it('moves files as raw bytes and strings as UTF-8', async () => {
    const { client, requests } = setup((request) => {
      if (request.method === 'PUT') return json({ status: 'completed', path: '/workspace/a', bytes: 5 });
      if (request.url.pathname.endsWith('/list')) return json({ entries: [{ name: 'a', kind: 'file' }] });
      if (request.url.pathname.endsWith('/files')) return new Response(new Uint8Array([0xc3, 0xa9, 0, 255]));
      return json({ id: 'ses_1' });
    });
    const session = await client.sessions.connect('ses_1');
    await session.files.write('/workspace/a', 'héllo', { wait: false });
    expect(requests[1]?.headers.get('content-type')).toBe('application/octet-stream');
    expect([...(requests[1]?.body ?? [])]).toEqual([...new TextEncoder().encode('héllo')]);
    expect(requests[1]?.url.search).toBe('?path=%2Fworkspace%2Fa&wait=false');
    expect([...(await session.files.read('/workspace/a'))]).toEqual([0xc3, 0xa9, 0, 255]);
    expect(await session.files.list('/workspace')).toEqual([{ name: 'a', kind: 'file' }]);
  });

  it('sends approval decisions with only the fields given', async () => {
    const { client, requests } = setup(() => json({ id: 'apr_1' }));
    await client.approvals.approve('apr_1', { reason: 'fine', remember: true });
    await client.approvals.deny('apr_2');
    await client.approvals.list({ status: 'pending', sessionId: 'ses_1' });
    expect(bodyOf(requests[0])).toEqual({ decision: 'approve', reason: 'fine', remember: true });
    expect(bodyOf(requests[1])).toEqual({ decision: 'deny' });
    expect(describeRequest(requests[2])).toBe('GET /v1/approvals?status=pending&sessionId=ses_1');
  });

  it('streams the audit export line by line across chunk boundaries, including an unterminated last line', async () => {
    const { client, requests } = setup(() =>
      chunked(
        ['{"seq":1,"type":"a"}\n{"se', 'q":2,"type":"b"}\r\n\n{"seq":3,"type":"c"}'],
        'application/x-ndjson',
      ),
    );
    const seqs = [];
    for await (const event of client.audit.export({ types: ['a', 'b'], afterSeq: 0 })) seqs.push(event.seq);
    expect(seqs).toEqual([1, 2, 3]);
    expect(describeRequest(requests[0])).toBe('GET /v1/audit/export?afterSeq=0&type=a%2Cb');
  });

  it('reconnects in wait() when the event stream is cut abruptly (CONNECTION_FAILED) while the command runs', async () => {
    let streams = 0;
    const final = runResult();
    const { client } = setup((request) => {
      if (request.url.pathname.endsWith('/events')) {
        streams++;
        if (streams > 1) return chunked(sse(['status', final]), 'text/event-stream');
        // The socket closes without the chunked terminator, as when a server restarts: fetch raises
        // "terminated" mid-read.
        let pulls = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (pulls++ > 0) controller.error(new TypeError('terminated'));
            else
              controller.enqueue(
                new TextEncoder().encode(sse(['output', { stream: 'stdout', text: 'a' }]).join('')),
              );
          },
        });
        return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
      }
      return json(runResult({ status: 'running' }));
    });
    const handle = (await client.sessions.connect('ses_1')).commands.connect('cmd_1');
    // What a reader of the same stream sees: the connection's failure, not a quiet end.
    const cut = await (async () => {
      for await (const _event of handle.events()) void _event;
    })().catch((e: unknown) => e);
    expect(isAirlockApiError(cut, 'CONNECTION_FAILED')).toBe(true);
    streams = 0;
    expect(await handle.wait({ timeoutMs: 5000 })).toEqual(final);
    expect(streams).toBe(2);
  });

  it('does not return a status event that is not final from wait()', async () => {
    let streams = 0;
    const final = runResult();
    const { client } = setup((request) => {
      if (!request.url.pathname.endsWith('/events')) return json(runResult({ status: 'running' }));
      streams++;
      const status = streams === 1 ? runResult({ status: 'running' }) : final;
      return chunked(sse(['status', status]), 'text/event-stream');
    });
    const handle = (await client.sessions.connect('ses_1')).commands.connect('cmd_1');
    expect(await handle.wait({ timeoutMs: 5000 })).toEqual(final);
    expect(streams).toBe(2);
  });

  it('gives up in wait() with CONNECTION_FAILED when the server is gone, instead of reconnecting forever', async () => {
    const { client, requests } = setup((request) => {
      if (request.url.pathname === '/v1/sessions/ses_1') return json({ id: 'ses_1' });
      throw new TypeError('fetch failed');
    });
    const handle = (await client.sessions.connect('ses_1')).commands.connect('cmd_1');
    const error = await handle.wait().catch((e: unknown) => e);
    expect(isAirlockApiError(error, 'CONNECTION_FAILED')).toBe(true);
    // The events request failed, then the state request did too: it stopped there.
    expect(requests.slice(1).map(describeRequest)).toEqual([
      'GET /v1/sessions/ses_1/commands/cmd_1/events',
      'GET /v1/sessions/ses_1/commands/cmd_1',
    ]);
  });

  it('raises STREAM_INTERRUPTED when the audit export breaks off midway, saying how many events came', async () => {
    const { client } = setup(() => {
      let pulls = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulls++ === 0) controller.enqueue(new TextEncoder().encode('{"seq":1}\n{"seq":2}\n{"se'));
          else controller.error(new TypeError('terminated'));
        },
      });
      return new Response(body, { headers: { 'content-type': 'application/x-ndjson' } });
    });
    const seqs: number[] = [];
    const error = await (async () => {
      for await (const event of client.audit.export()) seqs.push(event.seq);
    })().catch((e: unknown) => e);
    expect(seqs).toEqual([1, 2]);
    expect(isAirlockApiError(error, 'STREAM_INTERRUPTED')).toBe(true);
    expect(error).toMatchObject({ details: { eventsReceived: 2 }, request: 'GET /v1/audit/export' });
    expect((error as Error).cause).toMatchObject({ code: 'CONNECTION_FAILED' });
  });

  it('refuses an audit export line without end (adversarial): INVALID_RESPONSE, body cancelled, memory bounded', async () => {
    const chunkChars = 1024 * 1024;
    const maxChunks = Math.ceil(MAX_LINE_CHARS / chunkChars) * 3;
    const endless = endlessBody('x'.repeat(chunkChars), maxChunks);
    const { client } = setup(
      () => new Response(endless.body, { headers: { 'content-type': 'application/x-ndjson' } }),
    );
    const error = await (async () => {
      for await (const _event of client.audit.export()) void _event;
    })().catch((e: unknown) => e);
    expect(isAirlockApiError(error, 'INVALID_RESPONSE')).toBe(true);
    expect((error as Error).message).toMatch(/a line is longer than \d+ characters/);
    expect(endless.state.cancelled).toBe(true);
    // Stopped right past the limit, not after reading (and holding) everything the server sent.
    expect(endless.state.chunksRead).toBeLessThanOrEqual(MAX_LINE_CHARS / chunkChars + 3);
  });

  it('passes the session list limit to the server', async () => {
    const { client, requests } = setup(() => json({ sessions: [] }));
    await client.sessions.list({ state: 'active', limit: 7 });
    expect(describeRequest(requests[0])).toBe('GET /v1/sessions?state=active&limit=7');
  });

  it('never follows a redirect: a 307 would replay a PUT body to wherever it points', async () => {
    const { client, requests } = setup(() => json({ status: 'completed', path: '/workspace/a', bytes: 1 }));
    const session = await client.sessions.connect('ses_1');
    await session.files.write('/workspace/a', 'x');
    await client.health();
    expect(requests.length).toBeGreaterThan(0);
    for (const request of requests) expect(request.redirect, describeRequest(request)).toBe('error');
  });

  it('names calls in errors with ids encoded as in the URL, so an id cannot forge message text', async () => {
    const { client } = setup((request) =>
      request.url.pathname.endsWith('/events')
        ? chunked([': open\n\n'], 'text/event-stream')
        : json({ id: 'out', stream: 'stdout', offset: 0, text: 'x', totalChars: 9, nextOffset: 0 }),
    );
    const odd = 'a/b\nGET /v1/other';
    const stuck = await client.outputs.readAll(odd, { limit: 1 }).catch((e: unknown) => e);
    expect(stuck).toMatchObject({
      code: 'INVALID_RESPONSE',
      request: 'GET /v1/outputs/a%2Fb%0AGET%20%2Fv1%2Fother',
    });
    const handle = (await client.sessions.connect('ses_1')).commands.connect(odd);
    const interrupted = await (async () => {
      for await (const _event of handle.events()) void _event;
    })().catch((e: unknown) => e);
    expect(interrupted).toMatchObject({
      code: 'STREAM_INTERRUPTED',
      request: 'GET /v1/sessions/ses_1/commands/a%2Fb%0AGET%20%2Fv1%2Fother/events',
    });
  });
});
