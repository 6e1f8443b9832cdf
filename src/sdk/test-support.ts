/**
 * A scripted `fetch` for the SDK's unit tests: records each request and answers from a handler.
 * Not part of the SDK's public surface (index.ts does not export it).
 */
import type { FetchFunction } from './transport.ts';
import type { RunResult } from './wire-types.ts';

export interface RecordedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly body: Uint8Array | undefined;
  readonly signal: AbortSignal | undefined;
  readonly redirect: RequestInit['redirect'];
}

export type Handler = (request: RecordedRequest) => Response | Promise<Response>;

export interface FakeFetch {
  readonly fetch: FetchFunction;
  readonly requests: RecordedRequest[];
}

export function fakeFetch(handler: Handler): FakeFetch {
  const requests: RecordedRequest[] = [];
  const fetch: FetchFunction = async (input, init) => {
    const body = init.body;
    const request: RecordedRequest = {
      method: init.method ?? 'GET',
      url: new URL(input),
      headers: new Headers(init.headers),
      body:
        body === undefined || body === null
          ? undefined
          : typeof body === 'string'
            ? new TextEncoder().encode(body)
            : body instanceof Uint8Array
              ? body
              : undefined,
      signal: init.signal ?? undefined,
      redirect: init.redirect,
    };
    requests.push(request);
    init.signal?.throwIfAborted();
    return handler(request);
  };
  return { fetch, requests };
}

export function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** A streamed body from text chunks, each sent as its own network chunk. */
export function chunked(chunks: readonly (string | Uint8Array)[], contentType: string): Response {
  const encoder = new TextEncoder();
  let index = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': contentType } });
}

/** A body that sends `chunk` up to `maxChunks` times, recording how much was read and whether it was cancelled. */
export function endlessBody(chunk: string, maxChunks: number) {
  const bytes = new TextEncoder().encode(chunk);
  const state = { chunksRead: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.chunksRead === maxChunks) {
        controller.close();
        return;
      }
      state.chunksRead++;
      controller.enqueue(bytes);
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { body, state };
}

/** A fetch answer that never comes, rejecting only when the request's signal aborts. */
export function hang(request: RecordedRequest): Promise<Response> {
  return new Promise((_resolve, reject) => {
    request.signal?.addEventListener('abort', () => reject(request.signal?.reason), { once: true });
  });
}

export function runResult(overrides: Partial<RunResult> = {}): RunResult {
  return {
    id: 'cmd_1',
    sessionId: 'ses_1',
    command: 'echo hi',
    status: 'completed',
    exitCode: 0,
    signal: null,
    oomKilled: false,
    stdout: 'hi\n',
    stderr: '',
    truncated: false,
    outputId: null,
    durationMs: 5,
    decision: 'allow',
    reasons: [],
    ruleIds: [],
    approvalId: null,
    retryAfterMs: null,
    error: null,
    refusedHosts: [],
    forModel: 'exit 0',
    ...overrides,
  };
}
