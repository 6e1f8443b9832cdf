/**
 * session.pty against a scripted WebSocket: what is sent (URL, subprotocols, pieces), and how each way
 * a terminal ends reaches the caller.
 */
import { describe, expect, it } from 'vitest';
import { AirlockApiError } from './errors.ts';
import { MAX_PTY_MESSAGE_BYTES, SessionPty } from './pty.ts';
import type { WebSocketLike } from './pty.ts';
import { Transport } from './transport.ts';

class FakeSocket implements WebSocketLike {
  static last: FakeSocket | undefined;
  binaryType = 'blob';
  readyState = 0;
  protocol = '';
  readonly sent: Array<string | Uint8Array> = [];
  readonly listeners = new Map<string, Array<(event: never) => void>>();

  readonly url: string;
  readonly protocols: string | string[] | undefined;

  constructor(url: string, protocols?: string | string[]) {
    this.url = url;
    this.protocols = protocols;
    FakeSocket.last = this;
  }

  send(data: string | ArrayBufferView | ArrayBuffer): void {
    this.sent.push(typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer));
  }

  close(code = 1000, reason = ''): void {
    this.emit('close', { code, reason });
  }

  addEventListener(type: string, listener: (event: never) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  emit(type: string, event: unknown): void {
    for (const listener of this.listeners.get(type) ?? []) (listener as (event: unknown) => void)(event);
  }
}

function ptyOf(token: string | undefined = 'alk_sess_secret+/='): SessionPty {
  const transport = new Transport({
    baseUrl: 'http://127.0.0.1:7400',
    token,
    fetch: () => Promise.reject(new Error('no fetch here')),
    defaultTimeoutMs: undefined,
  });
  const nothing = () => Promise.reject(new Error('no commands here'));
  return new SessionPty(transport, 'ses_1', () => Promise.reject(new Error('not started here')), {
    get: nothing,
    kill: nothing,
  });
}

function opened(): FakeSocket {
  const socket = FakeSocket.last as FakeSocket;
  socket.emit('open', {});
  return socket;
}

describe('session.pty.connect', () => {
  it('opens ws:// with the format and the token as subprotocols, never the token in the URL', async () => {
    const connecting = ptyOf().connect('cmd_1', { WebSocket: FakeSocket });
    const socket = opened();
    await connecting;
    expect(socket.url).toBe('ws://127.0.0.1:7400/v1/sessions/ses_1/commands/cmd_1/pty');
    const token = Buffer.from('alk_sess_secret+/=').toString('base64url');
    expect(socket.protocols).toEqual(['airlock.pty.v1', `airlock.token.${token}`]);
    expect(socket.binaryType).toBe('arraybuffer');
  });

  it('passes output bytes on, sends input in pieces the server takes, and resolves wait() with the exit', async () => {
    const chunks: Uint8Array[] = [];
    const connecting = ptyOf().connect('cmd_1', {
      WebSocket: FakeSocket,
      onData: (data) => chunks.push(data),
    });
    const socket = opened();
    const terminal = await connecting;
    socket.emit('message', { data: new TextEncoder().encode('$ ').buffer });
    expect(new TextDecoder().decode(chunks[0])).toBe('$ ');
    terminal.write(new Uint8Array(MAX_PTY_MESSAGE_BYTES + 10));
    terminal.resize(100, 30);
    expect(socket.sent.map((m) => (typeof m === 'string' ? m : m.length))).toEqual([
      MAX_PTY_MESSAGE_BYTES,
      10,
      '{"type":"resize","cols":100,"rows":30}',
    ]);
    const result = { id: 'cmd_1', status: 'completed', exitCode: 3 };
    socket.emit('message', {
      data: JSON.stringify({ type: 'exit', status: 'completed', exitCode: 3, result }),
    });
    socket.emit('close', { code: 1000, reason: 'completed' });
    expect(await terminal.wait()).toEqual({ status: 'completed', exitCode: 3, result });
  });

  it('rejects wait() with the server’s code, or STREAM_INTERRUPTED when the socket just closed', async () => {
    const first = ptyOf().connect('cmd_1', { WebSocket: FakeSocket });
    const refusedSocket = opened();
    const refused = await first;
    refusedSocket.emit('message', {
      data: JSON.stringify({ type: 'error', code: 'LIMIT_REACHED', message: 'm' }),
    });
    refusedSocket.emit('close', { code: 1013, reason: 'LIMIT_REACHED' });
    expect(await refused.wait().catch((error: AirlockApiError) => error.code)).toBe('LIMIT_REACHED');

    const second = ptyOf().connect('cmd_1', { WebSocket: FakeSocket });
    const cutSocket = opened();
    const cut = await second;
    cutSocket.emit('close', { code: 1006, reason: '' });
    expect(await cut.wait().catch((error: AirlockApiError) => error.code)).toBe('STREAM_INTERRUPTED');
  });

  it('rejects connect() when the upgrade is refused, leaving no unhandled rejection behind (adversarial)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const connecting = ptyOf().connect('cmd_1', { WebSocket: FakeSocket });
      (FakeSocket.last as FakeSocket).emit('close', { code: 1006, reason: '' });
      const error = await connecting.catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(AirlockApiError);
      expect((error as AirlockApiError).code).toBe('CONNECTION_FAILED');
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('session.pty.create while a person decides', () => {
  it('withdraws the request and rejects ABORTED when the signal aborts during the wait (adversarial)', async () => {
    const transport = new Transport({
      baseUrl: 'http://127.0.0.1:7400',
      token: 'alk_sess_secret',
      fetch: () => Promise.reject(new Error('no fetch here')),
      defaultTimeoutMs: undefined,
    });
    const pending = { id: 'cmd_1', status: 'pending_approval', approvalId: 'apr_1' } as never;
    const killed: string[] = [];
    let asked = 0;
    const pty = new SessionPty(transport, 'ses_1', () => Promise.resolve(pending), {
      get: () => {
        asked += 1;
        return Promise.resolve(pending);
      },
      kill: (id) => {
        killed.push(id);
        return Promise.resolve({ ...(pending as object), status: 'killed' } as never);
      },
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 600);
    const error = await pty
      .create({ cols: 80, rows: 24, signal: controller.signal, WebSocket: FakeSocket })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AirlockApiError);
    expect((error as AirlockApiError).code).toBe('ABORTED');
    expect(asked).toBeGreaterThan(0);
    expect(killed).toEqual(['cmd_1']);
    const refused = await pty.create({ cols: 80, rows: 24, approvalWaitMs: -1 }).catch((e: unknown) => e);
    expect((refused as AirlockApiError).code).toBe('INVALID_ARGUMENT');
  });
});
