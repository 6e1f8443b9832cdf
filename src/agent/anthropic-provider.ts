/**
 * Anthropic's Messages API through the official `@anthropic-ai/sdk`: streaming, tool use assembled
 * from its JSON deltas, tool results grouped into the user turn that follows the assistant's.
 */
import Anthropic from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  MessageCreateParamsStreaming,
  MessageParam,
  RawMessageStreamEvent,
  ToolResultBlockParam,
} from '@anthropic-ai/sdk/resources/messages';
import type { ConversationMessage, ToolCallRequest } from './conversation.ts';
import { callError } from './provider.ts';
import type { ModelChunk, ModelProvider, ModelRequest, ProviderErrorClasses } from './provider.ts';

export interface AnthropicProviderOptions {
  readonly apiKey: string;
  /** Absent: Anthropic's own API. */
  readonly baseUrl?: string;
  readonly requestTimeoutMs: number;
}

const ANTHROPIC_ENDPOINT = 'https://api.anthropic.com';

/** The arguments object the model sent; text that is not a JSON object is sent back as an empty one. */
function inputOf(call: ToolCallRequest): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(call.arguments);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

function wireMessages(messages: readonly ConversationMessage[]): MessageParam[] {
  const wire: MessageParam[] = [];
  let results: ToolResultBlockParam[] | null = null;
  for (const message of messages) {
    if (message.role === 'tool') {
      // Every result of one assistant turn goes back in the one user turn after it.
      if (results === null) {
        results = [];
        wire.push({ role: 'user', content: results });
      }
      results.push({
        type: 'tool_result',
        tool_use_id: message.callId,
        content: message.text,
        ...(message.isError ? { is_error: true } : {}),
      });
      continue;
    }
    results = null;
    if (message.role === 'user') {
      wire.push({ role: 'user', content: message.text });
      continue;
    }
    const content: ContentBlockParam[] = [];
    // The API refuses empty text blocks.
    if (message.text !== '') content.push({ type: 'text', text: message.text });
    for (const call of message.toolCalls) {
      content.push({ type: 'tool_use', id: call.id, name: call.name, input: inputOf(call) });
    }
    wire.push({ role: 'assistant', content: content.length === 0 ? [{ type: 'text', text: '…' }] : content });
  }
  return wire;
}

/** The SDK's errors, as the loop judges them (see `callError`). */
const errorClasses: ProviderErrorClasses = {
  abort: Anthropic.APIUserAbortError,
  connection: Anthropic.APIConnectionError,
  api: Anthropic.APIError,
};

export function createAnthropicProvider(options: AnthropicProviderOptions): ModelProvider {
  const client = new Anthropic({
    // Given explicitly, so the SDK reads no credential from the environment or a profile on disk.
    apiKey: options.apiKey,
    baseURL: options.baseUrl ?? ANTHROPIC_ENDPOINT,
    webhookKey: null,
    // The loop retries itself, with its own bound, and says so in the transcript.
    maxRetries: 0,
    timeout: options.requestTimeoutMs,
    logLevel: 'off',
  });

  async function* stream(request: ModelRequest): AsyncIterable<ModelChunk> {
    const params: MessageCreateParamsStreaming = {
      model: request.model,
      system: request.system,
      max_tokens: request.maxTokens,
      messages: wireMessages(request.messages),
      stream: true,
      ...(request.tools.length === 0
        ? {}
        : {
            tools: request.tools.map((tool) => ({
              name: tool.name,
              description: tool.description,
              input_schema: { ...tool.inputSchema, type: 'object' as const },
            })),
          }),
    };
    let text = '';
    let stopReason: string | null = null;
    let input: number | null = null;
    let output: number | null = null;
    /** Tool-use blocks by their index in the message. */
    const calls = new Map<number, { id: string; name: string; json: string }>();
    try {
      const events = await client.messages.create(params, { signal: request.signal });
      for await (const event of events as AsyncIterable<RawMessageStreamEvent>) {
        switch (event.type) {
          case 'message_start':
            input = event.message.usage.input_tokens;
            output = event.message.usage.output_tokens;
            break;
          case 'content_block_start':
            if (event.content_block.type === 'tool_use') {
              calls.set(event.index, {
                id: event.content_block.id,
                name: event.content_block.name,
                json: '',
              });
            }
            break;
          case 'content_block_delta':
            if (event.delta.type === 'text_delta') {
              text += event.delta.text;
              yield { type: 'text', text: event.delta.text };
            } else if (event.delta.type === 'input_json_delta') {
              const call = calls.get(event.index);
              if (call !== undefined) call.json += event.delta.partial_json;
            }
            break;
          case 'message_delta':
            stopReason = event.delta.stop_reason ?? stopReason;
            output = event.usage.output_tokens;
            if (typeof event.usage.input_tokens === 'number') input = event.usage.input_tokens;
            break;
          default:
            break;
        }
      }
    } catch (error) {
      throw callError(error, errorClasses);
    }
    // The SDKs end a stream quietly when its request is aborted: a cut-off answer is no answer.
    if (request.signal.aborted) throw request.signal.reason;
    const toolCalls: ToolCallRequest[] = [...calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, call]) => ({ id: call.id, name: call.name, arguments: call.json === '' ? '{}' : call.json }));
    const usage = input === null || output === null ? null : { input, output };
    yield { type: 'turn', turn: { text, toolCalls, stopReason, usage } };
  }

  return { name: 'anthropic', endpoint: options.baseUrl ?? ANTHROPIC_ENDPOINT, stream };
}
