/**
 * OpenAI-compatible chat completions through the official `openai` SDK: OpenAI itself, and any server
 * that speaks the same wire format (llama.cpp, vLLM, Ollama…) through a base URL. Streaming, with
 * tool calls assembled from their deltas.
 */
import OpenAI from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { ConversationMessage, ToolCallRequest } from './conversation.ts';
import { callError } from './provider.ts';
import type { ModelChunk, ModelProvider, ModelRequest, ProviderErrorClasses } from './provider.ts';

export interface OpenAiProviderOptions {
  readonly apiKey: string;
  /** Absent: OpenAI's own API. */
  readonly baseUrl?: string;
  readonly requestTimeoutMs: number;
}

const OPENAI_ENDPOINT = 'https://api.openai.com/v1';

function wireMessages(
  system: string,
  messages: readonly ConversationMessage[],
): ChatCompletionMessageParam[] {
  const wire: ChatCompletionMessageParam[] = [{ role: 'system', content: system }];
  for (const message of messages) {
    switch (message.role) {
      case 'user':
        wire.push({ role: 'user', content: message.text });
        break;
      case 'assistant':
        wire.push({
          role: 'assistant',
          content: message.text === '' ? null : message.text,
          // An empty tool_calls list is refused by some servers: absent when there are none.
          ...(message.toolCalls.length === 0
            ? {}
            : {
                tool_calls: message.toolCalls.map((call) => ({
                  id: call.id,
                  type: 'function' as const,
                  function: { name: call.name, arguments: call.arguments },
                })),
              }),
        });
        break;
      case 'tool':
        wire.push({ role: 'tool', tool_call_id: message.callId, content: message.text });
        break;
    }
  }
  return wire;
}

/** A tool call as its deltas arrive: the id and name come first, the arguments in pieces. */
interface PartialCall {
  id: string;
  name: string;
  arguments: string;
}

/** The SDK's errors, as the loop judges them (see `callError`). */
const errorClasses: ProviderErrorClasses = {
  abort: OpenAI.APIUserAbortError,
  connection: OpenAI.APIConnectionError,
  api: OpenAI.APIError,
};

export function createOpenAiProvider(options: OpenAiProviderOptions): ModelProvider {
  const client = new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseUrl ?? OPENAI_ENDPOINT,
    // Every setting given here, so the SDK reads none of them from the process environment.
    organization: null,
    project: null,
    adminAPIKey: null,
    webhookSecret: null,
    // The loop retries itself, with its own bound, and says so in the transcript.
    maxRetries: 0,
    timeout: options.requestTimeoutMs,
    logLevel: 'off',
  });
  // OpenAI's own API wants max_completion_tokens (reasoning models refuse max_tokens); servers that
  // copy the wire format mostly know only max_tokens.
  const limitKey = options.baseUrl === undefined ? 'max_completion_tokens' : 'max_tokens';

  async function* stream(request: ModelRequest): AsyncIterable<ModelChunk> {
    const params: ChatCompletionCreateParamsStreaming = {
      model: request.model,
      messages: wireMessages(request.system, request.messages),
      stream: true,
      stream_options: { include_usage: true },
      [limitKey]: request.maxTokens,
      ...(request.tools.length === 0
        ? {}
        : {
            tools: request.tools.map((tool) => ({
              type: 'function' as const,
              function: {
                name: tool.name,
                description: tool.description,
                parameters: { ...tool.inputSchema },
              },
            })),
          }),
    };
    let text = '';
    let stopReason: string | null = null;
    let usage: { input: number; output: number } | null = null;
    const calls: PartialCall[] = [];
    try {
      const chunks = await client.chat.completions.create(params, { signal: request.signal });
      for await (const chunk of chunks as AsyncIterable<ChatCompletionChunk>) {
        if (chunk.usage) usage = { input: chunk.usage.prompt_tokens, output: chunk.usage.completion_tokens };
        const choice = chunk.choices[0];
        if (choice === undefined) continue;
        if (choice.finish_reason) stopReason = choice.finish_reason;
        const delta = choice.delta;
        if (typeof delta.content === 'string' && delta.content !== '') {
          text += delta.content;
          yield { type: 'text', text: delta.content };
        }
        for (const part of delta.tool_calls ?? []) {
          const call = (calls[part.index] ??= { id: '', name: '', arguments: '' });
          if (part.id) call.id = part.id;
          if (part.function?.name) call.name += part.function.name;
          if (part.function?.arguments) call.arguments += part.function.arguments;
        }
      }
    } catch (error) {
      throw callError(error, errorClasses);
    }
    // The SDKs end a stream quietly when its request is aborted: a cut-off answer is no answer.
    if (request.signal.aborted) throw request.signal.reason;
    const toolCalls: ToolCallRequest[] = calls
      .filter((call) => call !== undefined)
      .map((call, index) => ({
        // A server that sends no id still needs one to pair the result with the call.
        id: call.id === '' ? `call_${index}` : call.id,
        name: call.name,
        arguments: call.arguments === '' ? '{}' : call.arguments,
      }));
    yield { type: 'turn', turn: { text, toolCalls, stopReason, usage } };
  }

  return { name: 'openai', endpoint: options.baseUrl ?? OPENAI_ENDPOINT, stream };
}
