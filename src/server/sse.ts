/**
 * Streaming over a hijacked response: server-sent events, and the paced writes they (and the audit
 * export) use, so a slow reader holds back the producer instead of the server buffering without bound.
 */
import type { ServerResponse } from 'node:http';

/** Comment lines keep idle proxies and clients from timing the stream out. */
export const SSE_KEEPALIVE_MS = 15_000;

/**
 * Writes and resolves once the socket took it (or closed): a producer that awaits each write runs at
 * the reader's pace instead of piling text up in memory.
 */
export function writeDrained(response: ServerResponse, text: string): Promise<void> {
  if (response.write(text)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

export interface SseStream {
  send(event: string, data: unknown): Promise<void>;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  close(): void;
}

export function openSse(response: ServerResponse): SseStream {
  const gone = new AbortController();
  response.on('close', () => gone.abort());
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    // Proxies that buffer (nginx) would hold every event until the end.
    'x-accel-buffering': 'no',
  });
  response.write(': stream open\n\n');
  const keepalive = setInterval(() => response.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
  keepalive.unref();

  const write = (text: string): Promise<void> =>
    gone.signal.aborted ? Promise.resolve() : writeDrained(response, text);

  return {
    // JSON never contains a raw newline, so each event's data is exactly one `data:` line.
    send: (event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    signal: gone.signal,
    close: () => {
      clearInterval(keepalive);
      response.end();
    },
  };
}
