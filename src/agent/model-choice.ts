/**
 * Which provider a model name goes to, and with which key and endpoint. `anthropic:NAME` and
 * `openai:NAME` say it; a bare name goes to an OpenAI-compatible server (OpenAI's own, or the one a
 * base URL names), since that is the format local servers speak. Keys come from the environment
 * (through src/config) or the caller, never from a flag: a flag would show in `ps`.
 */
import { modelEnvironmentVariables } from '../config/index.ts';
import type { ModelEnvironment, ModelProviderName } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import { createAnthropicProvider } from './anthropic-provider.ts';
import { createOpenAiProvider } from './openai-provider.ts';
import type { ModelProvider } from './provider.ts';

export interface ModelChoice {
  readonly provider: ModelProviderName;
  readonly model: string;
}

/** Longest a single model call may take before it counts as failed (and is tried again). */
const REQUEST_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * Sent as the key to an OpenAI-compatible server given by URL when no key is set: local servers
 * (llama.cpp, Ollama) check none, and the SDK refuses to start without one.
 */
const NO_KEY = 'no-key';

export function parseModelName(spec: string): ModelChoice {
  const trimmed = spec.trim();
  const colon = trimmed.indexOf(':');
  const prefix = colon > 0 ? trimmed.slice(0, colon) : '';
  // Only a known provider is a prefix: Ollama's names have colons of their own (llama3.1:8b).
  const provider = prefix === 'anthropic' || prefix === 'openai' ? prefix : null;
  const model = provider === null ? trimmed : trimmed.slice(colon + 1);
  if (model === '' || /\s/.test(model)) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `model ${JSON.stringify(spec)} is not a model name: use one like openai:gpt-4.1-mini, anthropic:claude-sonnet-4-5, or the name a local server knows`,
      { field: 'model' },
    );
  }
  return { provider: provider ?? 'openai', model };
}

function checkedBaseUrl(value: string): string {
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `base URL ${JSON.stringify(value)} is not an http or https URL, like http://127.0.0.1:8080/v1`,
      { field: 'baseUrl' },
    );
  }
  const url = new URL(value);
  // Credentials belong in the key's environment variable; in a URL they would show in the transcript.
  if (url.username !== '' || url.password !== '') {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      'base URL carries a user name or password: put the key in the environment variable instead',
      { field: 'baseUrl' },
    );
  }
  return value;
}

export interface ProviderInput {
  readonly choice: ModelChoice;
  /** From the caller or the configuration; else the provider's environment variable. */
  readonly baseUrl: string | undefined;
  /** From the caller; else the provider's environment variable. */
  readonly apiKey: string | undefined;
  readonly environment: ModelEnvironment;
}

export function createProvider(input: ProviderInput): ModelProvider {
  const { choice, environment } = input;
  const endpoint = environment[choice.provider];
  const rawBaseUrl = input.baseUrl ?? endpoint.baseUrl;
  const baseUrl = rawBaseUrl === undefined ? undefined : checkedBaseUrl(rawBaseUrl);
  const key = input.apiKey ?? endpoint.apiKey;
  const variable = modelEnvironmentVariables[choice.provider].apiKey;
  if (choice.provider === 'anthropic') {
    if (key === undefined) {
      throw new AirlockError('INVALID_CONFIG', `no API key for ${choice.provider}: set ${variable}`, {
        variable,
      });
    }
    return createAnthropicProvider({
      apiKey: key,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      ...(baseUrl === undefined ? {} : { baseUrl }),
    });
  }
  if (key === undefined && baseUrl === undefined) {
    throw new AirlockError(
      'INVALID_CONFIG',
      `no API key for openai: set ${variable}, or give --base-url for a local OpenAI-compatible server`,
      { variable },
    );
  }
  return createOpenAiProvider({
    apiKey: key ?? NO_KEY,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    ...(baseUrl === undefined ? {} : { baseUrl }),
  });
}

/*
 * Security limitations:
 * - The key goes wherever the base URL points, as each provider's SDK does with its own base-URL
 *   variable: with OPENAI_API_KEY set, `--base-url` to another server hands that server the key, and
 *   over plain http (anything but loopback) anyone on the path can read it. Unset the key for a local
 *   server that checks none.
 * - Both SDKs still read a few variables of their own from the process environment that no option
 *   turns off (OPENAI_CUSTOM_HEADERS, ANTHROPIC_CUSTOM_HEADERS: extra request headers). Every other
 *   setting they would read there (key, base URL, organization, project, log level) is given here.
 */
