/**
 * How a refusal reaches the client: an HTTP answer with the one-line reason as its body, so the model
 * reading curl's or pip's error sees why (not an opaque 502), and a header naming the code for tools.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { RefusalCode } from './types.ts';

const STATUS: Readonly<Partial<Record<RefusalCode, number>>> = {
  bad_request: 400,
  connection_limit: 429,
  resolve_failed: 502,
};

export function refusalStatus(code: RefusalCode): number {
  return STATUS[code] ?? 403;
}

const REASON_PHRASES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  429: 'Too Many Requests',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

/** Answers on a parsed request; the connection closes after it, since its body may be unread. */
export function sendRefusal(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${message}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-airlock-refused': code,
    connection: 'close',
  });
  res.end(body);
}

/** The same answer written raw, where no HTTP response object exists (CONNECT, a protocol sniff). */
export function writeRawRefusal(socket: Socket, status: number, code: string, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${REASON_PHRASES[status] ?? 'Error'}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Airlock-Refused: ${code}\r\nConnection: close\r\n\r\n${body}`,
  );
}
