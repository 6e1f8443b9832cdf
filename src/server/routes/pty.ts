/**
 * `GET /v1/sessions/:id/commands/:commandId/pty`: a WebSocket attached to an interactive command.
 * Output goes out as it comes (redacted; a prompt or an echo once output pauses), keystrokes and
 * resizes come in, and the socket closes with the command's exit. Detaching (closing the socket)
 * leaves the command running: it ends by itself, by its timeout or by `…/kill`.
 *
 * The command itself went through the pipeline when it was started (`POST …/commands` with
 * `interactive`): the policy judged it, a person approved it where asked, and its timeout and kill
 * tree hold. What is typed into it is not judged command by command — the policy cannot see inside
 * an interactive program, which is why starting a shell asks a person under the default policies — it
 * is recorded in the audit log, redacted, as `command.input`.
 */
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { Airlock } from '../../airlock/index.ts';
import { AirlockError } from '../../errors/index.ts';
import { assertSessionAccess } from '../access.ts';
import { rejectCrossSite } from '../authenticate.ts';
import type { Authenticate } from '../authenticate.ts';
import { invalidInput } from '../http-errors.ts';
import {
  closeCodes,
  createMessageBudget,
  MAX_BUFFERED_OUTPUT_BYTES,
  MAX_PENDING_INPUT_BYTES,
  MAX_PTY_MESSAGE_BYTES,
  MAX_PTY_MESSAGES_PER_SECOND,
  parseClientMessage,
  PTY_PROTOCOL,
  tokenFromProtocols,
} from '../pty-frames.ts';
import { commandParams } from '../schemas.ts';
import type { Principal } from '../tokens.ts';

export const PTY_URL = '/v1/sessions/:id/commands/:commandId/pty';

/** The route in /v1/openapi.json: OpenAPI has no WebSocket, so the upgrade is described in words. */
export const ptyOpenApiPaths = {
  '/v1/sessions/{id}/commands/{commandId}/pty': {
    get: {
      summary:
        'A WebSocket on an interactive command: output out, keystrokes and resizes in, closed with the exit',
      tags: ['commands'],
      description:
        'Upgrade with subprotocol `airlock.pty.v1` (and, where headers cannot be set, the token as ' +
        '`airlock.token.<base64url(token)>`). Binary messages are bytes (input in, output out); text ' +
        'messages are JSON: in `{"type":"resize","cols","rows"}` or `{"type":"input","data"}`, out ' +
        '`{"type":"exit","status","exitCode","result"}` then close 1000, or `{"type":"error","code","message"}`. ' +
        `Messages are at most ${MAX_PTY_MESSAGE_BYTES} bytes (else close 1009) and ${MAX_PTY_MESSAGES_PER_SECOND} ` +
        'a second (else close 1008). Closing the socket detaches; the command goes on.',
      parameters: ['id', 'commandId'].map((name) => ({
        name,
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      responses: {
        '101': { description: 'Switching to the WebSocket protocol' },
        '4XX': { description: 'Refused before the upgrade: `{ error: { code, message } }`' },
      },
    },
  },
};

/** A peer that answers no ping for this long is gone (a laptop closed, a cut link). */
const PING_INTERVAL_MS = 30_000;

export interface PtyRouteOptions {
  readonly airlock: Airlock;
  readonly authenticate: Authenticate;
  readonly now?: () => number;
}

export async function registerPtyRoute(app: FastifyInstance, options: PtyRouteOptions): Promise<void> {
  await app.register(fastifyWebsocket, {
    options: {
      maxPayload: MAX_PTY_MESSAGE_BYTES,
      // Compressed frames would let a small message inflate past the bound before it is checked.
      perMessageDeflate: false,
      // The token a browser sends as a subprotocol is never echoed: the answer names the format only.
      handleProtocols: (offered) => (offered.has(PTY_PROTOCOL) ? PTY_PROTOCOL : false),
    },
  });
  const { airlock, authenticate } = options;
  const now = options.now ?? Date.now;
  const principals = new WeakMap<FastifyRequest, Principal | null>();
  app.route({
    method: 'GET',
    url: PTY_URL,
    websocket: true,
    config: { unauthenticated: 'challenge' },
    onRequest: async (request) => {
      const token = tokenFromProtocols(headerOf(request, 'sec-websocket-protocol'));
      if (request.headers.authorization === undefined && token !== undefined) {
        request.headers.authorization = `Bearer ${token}`;
      }
      // Without a token the dashboard's cookie signs the request in, and a browser sends that cookie
      // with a WebSocket opened by any site: only the dashboard's own page may use it here.
      if (request.headers.authorization === undefined) rejectCrossSite(request);
      principals.set(request, await authenticate(request, { access: 'any' }));
    },
    preHandler: async (request) => {
      if (!request.ws) {
        // A plain GET (a WebSocket upgrade for another cluster node's session is answered by the
        // cluster layer, naming that node).
        throw new AirlockError(
          'INVALID_ARGUMENT',
          `GET ${PTY_URL} is a WebSocket: send an Upgrade request (in a cluster, to the node that runs the session)`,
        );
      }
      const params = commandParams.safeParse(request.params);
      if (!params.success) throw invalidInput('path', params.error);
      assertSessionAccess(principals.get(request) ?? null, params.data.id);
      await checkAttachable(airlock, params.data.id, params.data.commandId);
    },
    handler: (socket: WebSocket, request: FastifyRequest) => {
      const { id, commandId } = commandParams.parse(request.params);
      bridge(socket, { airlock, sessionId: id, commandId, now });
    },
  });
}

/**
 * Refused before the upgrade, as a plain HTTP error: an unknown command, another session's, or one in
 * flight that takes no input (sending nothing checks exactly that). A command that has already ended
 * (a quick one, before the client attached) is attached to: the socket gives its output and its exit.
 */
async function checkAttachable(airlock: Airlock, sessionId: string, commandId: string): Promise<void> {
  const scope = { within: sessionId };
  const inFlight = (status: string): boolean => status === 'running' || status === 'pending_approval';
  if (!inFlight((await airlock.commands.get(commandId, scope)).status)) return;
  try {
    await airlock.commands.sendInput(commandId, {}, scope);
  } catch (error) {
    const endedSince =
      error instanceof AirlockError &&
      error.code === 'INVALID_ARGUMENT' &&
      !inFlight((await airlock.commands.get(commandId, scope)).status);
    if (!endedSince) throw error;
  }
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

interface BridgeTarget {
  readonly airlock: Airlock;
  readonly sessionId: string;
  readonly commandId: string;
  readonly now: () => number;
}

function bridge(socket: WebSocket, target: BridgeTarget): void {
  const { airlock, sessionId, commandId } = target;
  const scope = { within: sessionId };
  const detached = new AbortController();
  const budget = createMessageBudget(MAX_PTY_MESSAGES_PER_SECOND, target.now);
  let pendingInput = 0;
  let alive = true;

  const fail = (code: number, error: unknown): void => {
    const known = error instanceof AirlockError ? error : new AirlockError('INTERNAL', 'the terminal failed');
    if (socket.readyState === socket.OPEN) {
      socket.send(JSON.stringify({ type: 'error', code: known.code, message: known.message }));
      socket.close(code, known.code);
    }
  };

  // Input: one message at a time into the command, in order; reading pauses while too much waits.
  let queue: Promise<unknown> = Promise.resolve();
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (!budget.take()) {
      fail(
        closeCodes.policyViolation,
        new AirlockError(
          'RATE_LIMITED',
          `more than ${MAX_PTY_MESSAGES_PER_SECOND} messages a second: send input in larger pieces`,
        ),
      );
      return;
    }
    const message = parseClientMessage(data, isBinary);
    if (message.kind === 'invalid') {
      fail(closeCodes.policyViolation, new AirlockError('INVALID_ARGUMENT', message.message));
      return;
    }
    if (message.kind === 'resize') {
      queue = queue.then(() =>
        airlock.commands.resize(commandId, { cols: message.cols, rows: message.rows }, scope),
      );
    } else {
      pendingInput += message.data.length;
      if (pendingInput > MAX_PENDING_INPUT_BYTES) socket.pause();
      queue = queue.then(async () => {
        try {
          await airlock.commands.sendInput(commandId, { data: message.data }, scope);
        } finally {
          pendingInput -= message.data.length;
          if (pendingInput <= MAX_PENDING_INPUT_BYTES && socket.isPaused) socket.resume();
        }
      });
    }
    queue = queue.catch((error: unknown) => {
      // Input to a command that has just ended is expected: its exit message is on its way.
      if (error instanceof AirlockError && error.code === 'INVALID_ARGUMENT') return;
      fail(closeCodes.internal, error);
    });
  });

  const ping = setInterval(() => {
    if (!alive) {
      socket.terminate();
      return;
    }
    alive = false;
    socket.ping();
  }, PING_INTERVAL_MS);
  ping.unref();
  socket.on('pong', () => {
    alive = true;
  });
  socket.on('close', () => {
    clearInterval(ping);
    detached.abort();
  });

  void (async () => {
    let sentOutput = false;
    try {
      for await (const event of airlock.commands.watch(commandId, {
        ...scope,
        signal: detached.signal,
        terminal: true,
      })) {
        if (event.type === 'output') {
          sentOutput = true;
          await sendPaced(socket, Buffer.from(event.text, 'utf8'));
          continue;
        }
        const { result } = event;
        // Attached after the end: the output comes from the result (redacted, cut to the model's budget).
        if (!sentOutput && result.stdout + result.stderr !== '') {
          await sendPaced(socket, Buffer.from(result.stdout + result.stderr, 'utf8'));
        }
        socket.send(
          JSON.stringify({ type: 'exit', status: result.status, exitCode: result.exitCode, result }),
        );
        socket.close(closeCodes.normal, result.status);
        return;
      }
    } catch (error) {
      const limited = error instanceof AirlockError && error.code === 'LIMIT_REACHED';
      fail(limited ? closeCodes.tryAgainLater : closeCodes.internal, error);
    }
  })();
}

/** Sends output; once too much is buffered, waits until the socket took it (or closed). */
function sendPaced(socket: WebSocket, data: Buffer): Promise<void> {
  if (socket.readyState !== socket.OPEN) return Promise.resolve();
  if (socket.bufferedAmount < MAX_BUFFERED_OUTPUT_BYTES) {
    socket.send(data, { binary: true });
    return Promise.resolve();
  }
  return new Promise((resolve) => socket.send(data, { binary: true }, () => resolve()));
}

// Security limitations:
// - Typed commands are recorded, not judged: an interactive shell runs whatever is typed into it, within
//   the sandbox's limits. Policies decide whether such a shell may start at all.
// - Live output is redacted as it comes (see router/shape/live-stream.ts): a token printed slower than
//   the terminal's settle pause, a few characters at a time, is not recognised.
