/**
 * The terminal WebSocket's wire format and limits (`GET /v1/sessions/:id/commands/:commandId/pty`).
 *
 * Client to server: a binary message is input bytes (keystrokes, a paste); a text message is one JSON
 * control, `{"type":"resize","cols":C,"rows":R}` or `{"type":"input","data":"text"}`.
 * Server to client: a binary message is terminal output (UTF-8, redacted); a text message is
 * `{"type":"exit",...}` once the command has ended (then the socket closes with 1000) or
 * `{"type":"error","code":…,"message":…}` before a close with another code.
 *
 * A browser cannot set an Authorization header on a WebSocket, so a token may come as the
 * subprotocol `airlock.token.<base64url of the token>` beside `airlock.pty.v1`; the server answers
 * with `airlock.pty.v1` only, never echoing the token.
 */
import { z } from 'zod';

export const PTY_PROTOCOL = 'airlock.pty.v1';
export const TOKEN_PROTOCOL_PREFIX = 'airlock.token.';

/** Largest message either way; a larger one closes the socket with 1009 (the sandbox's frame bound). */
export const MAX_PTY_MESSAGE_BYTES = 64 * 1024;
/**
 * Messages a client may send per second, with a burst of as many. Typing is tens a second and a
 * window being dragged sends resizes at the display's rate; past this is a loop, not a person.
 */
export const MAX_PTY_MESSAGES_PER_SECOND = 200;
/** Input accepted and not yet taken by the command; past it the socket stops being read until it is. */
export const MAX_PENDING_INPUT_BYTES = 1024 * 1024;
/** Output sent and not yet written to the socket; past it the reader waits (and the watch drops, counted). */
export const MAX_BUFFERED_OUTPUT_BYTES = 1024 * 1024;

/** WebSocket close codes the route uses (RFC 6455 §7.4.1). */
export const closeCodes = {
  normal: 1000,
  goingAway: 1001,
  policyViolation: 1008,
  tooBig: 1009,
  internal: 1011,
  tryAgainLater: 1013,
} as const;

const size = z.number().int().min(1).max(1000);

export const controlMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('resize'), cols: size, rows: size }).strict(),
  z.object({ type: z.literal('input'), data: z.string() }).strict(),
]);
export type ControlMessage = z.infer<typeof controlMessage>;

export type ParsedMessage =
  | { readonly kind: 'input'; readonly data: Buffer }
  | { readonly kind: 'resize'; readonly cols: number; readonly rows: number }
  | { readonly kind: 'invalid'; readonly message: string };

/** One client message, judged whole: anything that is not exactly the format above is `invalid`. */
export function parseClientMessage(data: Buffer, isBinary: boolean): ParsedMessage {
  if (isBinary) return { kind: 'input', data };
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    return {
      kind: 'invalid',
      message: 'a text message must be JSON: {"type":"resize",…} or {"type":"input",…}',
    };
  }
  const parsed = controlMessage.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      kind: 'invalid',
      message: `invalid control message${issue === undefined ? '' : `: ${issue.path.join('.') || 'message'}: ${issue.message}`}`,
    };
  }
  const message = parsed.data;
  return message.type === 'resize'
    ? { kind: 'resize', cols: message.cols, rows: message.rows }
    : { kind: 'input', data: Buffer.from(message.data, 'utf8') };
}

/**
 * The token carried as a subprotocol, or undefined. Only the first such entry counts; one that does
 * not decode to printable ASCII is ignored (the request then has no token and is refused as such).
 */
export function tokenFromProtocols(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const entry = header
    .split(',')
    .map((part) => part.trim())
    .find((part) => part.startsWith(TOKEN_PROTOCOL_PREFIX));
  if (entry === undefined) return undefined;
  const encoded = entry.slice(TOKEN_PROTOCOL_PREFIX.length);
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(encoded)) return undefined;
  const token = Buffer.from(encoded, 'base64url').toString('utf8');
  return /^[\x21-\x7e]+$/.test(token) ? token : undefined;
}

/** A token bucket for one socket's messages: `take()` is false once the client sends faster than allowed. */
export function createMessageBudget(perSecond: number, now: () => number): { take(): boolean } {
  let tokens = perSecond;
  let last = now();
  return {
    take: () => {
      const at = now();
      tokens = Math.min(perSecond, tokens + ((at - last) / 1000) * perSecond);
      last = at;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
