/**
 * A scripted model server on 127.0.0.1 that speaks the OpenAI-compatible chat completions and the
 * Anthropic Messages wire formats, streaming included, and replays a script: each request gets the
 * next reply (text, tool calls, or an HTTP error), which may be worked out from the request (the tool
 * results so far). Every request is kept, raw, for tests to assert what a model would have been sent.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type WireFormat = 'openai' | 'anthropic';

export interface ScriptedToolCall {
  readonly name: string;
  readonly arguments: Record<string, unknown>;
}

export type ScriptReply =
  | {
      readonly text?: string;
      readonly toolCalls?: readonly ScriptedToolCall[];
      /** Reported usage; default: a quarter of the request's and the reply's characters. */
      readonly usage?: { readonly input: number; readonly output: number } | null;
      /** Milliseconds between streamed pieces. */
      readonly pieceDelayMs?: number;
    }
  | {
      readonly error: {
        readonly status: number;
        readonly message?: string;
        readonly headers?: Readonly<Record<string, string>>;
      };
    };

export interface ReceivedRequest {
  readonly format: WireFormat;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  /** The body exactly as it arrived. */
  readonly raw: string;
  readonly body: Record<string, unknown>;
  /** The text of every tool result in the conversation, oldest first, whatever the format. */
  readonly toolResults: readonly string[];
  readonly stream: boolean;
  /** When it arrived (Date.now()). */
  readonly at: number;
}

export type ScriptStep = ScriptReply | ((request: ReceivedRequest) => ScriptReply);

export interface ModelServer {
  /** `http://127.0.0.1:PORT/v1`: the base URL of an OpenAI-compatible server. */
  readonly baseUrl: string;
  /** `http://127.0.0.1:PORT`: the base URL the Anthropic SDK takes (it adds /v1 itself). */
  readonly origin: string;
  readonly received: ReceivedRequest[];
  /** Replies still to give. */
  remaining(): number;
  close(): Promise<void>;
}

function toolResultsOf(format: WireFormat, body: Record<string, unknown>): string[] {
  const messages = Array.isArray(body['messages'])
    ? (body['messages'] as Array<Record<string, unknown>>)
    : [];
  if (format === 'openai') {
    return messages.filter((m) => m['role'] === 'tool').map((m) => String(m['content'] ?? ''));
  }
  return messages.flatMap((m) =>
    Array.isArray(m['content'])
      ? (m['content'] as Array<Record<string, unknown>>)
          .filter((block) => block['type'] === 'tool_result')
          .map((block) =>
            typeof block['content'] === 'string' ? block['content'] : JSON.stringify(block['content']),
          )
      : [],
  );
}

/** Text in a few pieces, so the client really assembles a stream. */
function pieces(text: string): string[] {
  if (text === '') return [];
  const size = Math.max(1, Math.ceil(text.length / 3));
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return parts;
}

const pause = (ms: number): Promise<void> =>
  ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();

async function streamOpenAi(
  response: ServerResponse,
  reply: Extract<ScriptReply, { text?: string }>,
  usage: { input: number; output: number } | null,
  call: number,
): Promise<void> {
  const base = { id: `chatcmpl-${call}`, object: 'chat.completion.chunk', created: 0, model: 'scripted' };
  const send = async (chunk: Record<string, unknown>): Promise<void> => {
    response.write(`data: ${JSON.stringify({ ...base, ...chunk })}\n\n`);
    await pause(reply.pieceDelayMs ?? 0);
  };
  await send({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
  for (const piece of pieces(reply.text ?? '')) {
    await send({ choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] });
  }
  const calls = reply.toolCalls ?? [];
  for (const [index, toolCall] of calls.entries()) {
    const args = JSON.stringify(toolCall.arguments);
    const half = Math.ceil(args.length / 2);
    await send({
      choices: [
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index,
                id: `call_${call}_${index}`,
                type: 'function',
                function: { name: toolCall.name, arguments: args.slice(0, half) },
              },
            ],
          },
          finish_reason: null,
        },
      ],
    });
    await send({
      choices: [
        {
          index: 0,
          delta: { tool_calls: [{ index, function: { arguments: args.slice(half) } }] },
          finish_reason: null,
        },
      ],
    });
  }
  await send({ choices: [{ index: 0, delta: {}, finish_reason: calls.length > 0 ? 'tool_calls' : 'stop' }] });
  if (usage !== null) {
    await send({
      choices: [],
      usage: {
        prompt_tokens: usage.input,
        completion_tokens: usage.output,
        total_tokens: usage.input + usage.output,
      },
    });
  }
  response.end('data: [DONE]\n\n');
}

async function streamAnthropic(
  response: ServerResponse,
  reply: Extract<ScriptReply, { text?: string }>,
  usage: { input: number; output: number } | null,
  call: number,
): Promise<void> {
  const send = async (type: string, data: Record<string, unknown>): Promise<void> => {
    response.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    await pause(reply.pieceDelayMs ?? 0);
  };
  const input = usage?.input ?? 0;
  await send('message_start', {
    message: {
      id: `msg_${call}`,
      type: 'message',
      role: 'assistant',
      content: [],
      model: 'scripted',
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: input, output_tokens: 1 },
    },
  });
  let index = 0;
  const text = reply.text ?? '';
  if (text !== '') {
    await send('content_block_start', { index, content_block: { type: 'text', text: '' } });
    for (const piece of pieces(text))
      await send('content_block_delta', { index, delta: { type: 'text_delta', text: piece } });
    await send('content_block_stop', { index });
    index += 1;
  }
  const calls = reply.toolCalls ?? [];
  for (const toolCall of calls) {
    const args = JSON.stringify(toolCall.arguments);
    const half = Math.ceil(args.length / 2);
    await send('content_block_start', {
      index,
      content_block: { type: 'tool_use', id: `toolu_${call}_${index}`, name: toolCall.name, input: {} },
    });
    await send('content_block_delta', {
      index,
      delta: { type: 'input_json_delta', partial_json: args.slice(0, half) },
    });
    await send('content_block_delta', {
      index,
      delta: { type: 'input_json_delta', partial_json: args.slice(half) },
    });
    await send('content_block_stop', { index });
    index += 1;
  }
  await send('message_delta', {
    delta: { stop_reason: calls.length > 0 ? 'tool_use' : 'end_turn', stop_sequence: null },
    usage: { output_tokens: usage?.output ?? 1 },
  });
  await send('message_stop', {});
  response.end();
}

function sendError(
  response: ServerResponse,
  format: WireFormat,
  error: Extract<ScriptReply, { error: unknown }>['error'],
): void {
  const message = error.message ?? `scripted error ${error.status}`;
  const body =
    format === 'openai'
      ? { error: { message, type: 'scripted_error', code: null } }
      : { type: 'error', error: { type: 'scripted_error', message } };
  response.writeHead(error.status, { 'content-type': 'application/json', ...error.headers });
  response.end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startModelServer(script: readonly ScriptStep[]): Promise<ModelServer> {
  const steps = [...script];
  const received: ReceivedRequest[] = [];
  let calls = 0;
  const server = createServer((request, response) => {
    void (async () => {
      const path = request.url ?? '/';
      if (request.method === 'GET' && path === '/v1/ping') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"ok":true}');
        return;
      }
      const format: WireFormat | null = path.endsWith('/chat/completions')
        ? 'openai'
        : path.endsWith('/messages')
          ? 'anthropic'
          : null;
      const raw = await readBody(request);
      if (format === null || request.method !== 'POST') {
        response.writeHead(404).end();
        return;
      }
      const body = JSON.parse(raw) as Record<string, unknown>;
      const seen: ReceivedRequest = {
        format,
        path,
        headers: request.headers,
        raw,
        body,
        toolResults: toolResultsOf(format, body),
        stream: body['stream'] === true,
        at: Date.now(),
      };
      received.push(seen);
      calls += 1;
      const step = steps.shift();
      if (step === undefined) {
        // A 400 is never retried: a run that asks for more than its script fails loudly.
        sendError(response, format, { status: 400, message: 'the script has no more replies' });
        return;
      }
      const reply = typeof step === 'function' ? step(seen) : step;
      if ('error' in reply) {
        sendError(response, format, reply.error);
        return;
      }
      const replyChars = (reply.text ?? '').length + JSON.stringify(reply.toolCalls ?? []).length;
      const usage =
        reply.usage === undefined
          ? { input: Math.ceil(raw.length / 4), output: Math.ceil(replyChars / 4) }
          : reply.usage;
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      if (format === 'openai') await streamOpenAi(response, reply, usage, calls);
      else await streamAnthropic(response, reply, usage, calls);
    })().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    origin: `http://127.0.0.1:${port}`,
    received,
    remaining: () => steps.length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The command id a tool result names (cmd_…), for scripts that follow a command up. */
export function commandIdIn(text: string | undefined): string {
  const id = /cmd_[0-9a-f]{24}/.exec(text ?? '')?.[0];
  if (id === undefined) throw new Error(`no command id in ${JSON.stringify(text?.slice(0, 300))}`);
  return id;
}

/** The output id a tool result names (out_…). */
export function outputIdIn(text: string | undefined): string {
  const id = /out_[0-9a-f]+/.exec(text ?? '')?.[0];
  if (id === undefined) throw new Error(`no output id in ${JSON.stringify(text?.slice(0, 300))}`);
  return id;
}
