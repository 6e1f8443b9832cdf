/**
 * The model providers' credentials and endpoints from the host environment, for the agent stage. Read
 * here only, like every other variable: the agent never looks at the process environment, and nothing
 * of this ever reaches a sandbox (sandboxes get `sandbox.env` and a session's own variables only).
 */
import type { EnvironmentVariables } from './environment.ts';

export const modelProviders = ['openai', 'anthropic'] as const;
export type ModelProviderName = (typeof modelProviders)[number];

export interface ModelEndpoint {
  readonly apiKey?: string;
  readonly baseUrl?: string;
}

export type ModelEnvironment = Readonly<Record<ModelProviderName, ModelEndpoint>>;

/** The variables each provider's own SDK documents (read in readModelEnvironment); empty means unset. */
export const modelEnvironmentVariables: Readonly<
  Record<ModelProviderName, { readonly apiKey: string; readonly baseUrl: string }>
> = {
  openai: { apiKey: 'OPENAI_API_KEY', baseUrl: 'OPENAI_BASE_URL' },
  anthropic: { apiKey: 'ANTHROPIC_API_KEY', baseUrl: 'ANTHROPIC_BASE_URL' },
};

/** An unset or empty variable is absent. */
function value(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}

function endpoint(apiKey: string | undefined, baseUrl: string | undefined): ModelEndpoint {
  return {
    ...(value(apiKey) === undefined ? {} : { apiKey: apiKey as string }),
    ...(value(baseUrl) === undefined ? {} : { baseUrl: baseUrl as string }),
  };
}

export function readModelEnvironment(env: EnvironmentVariables): ModelEnvironment {
  // Each variable named literally: the configuration reference's test finds what src/ reads this way.
  return Object.freeze({
    openai: endpoint(env['OPENAI_API_KEY'], env['OPENAI_BASE_URL']),
    anthropic: endpoint(env['ANTHROPIC_API_KEY'], env['ANTHROPIC_BASE_URL']),
  });
}

/** The API keys set, by variable name: values to redact from everything Airlock shows or stores. */
export function modelKeySecrets(env: EnvironmentVariables): Array<{ name: string; value: string }> {
  const model = readModelEnvironment(env);
  return modelProviders.flatMap((provider) => {
    const value = model[provider].apiKey;
    return value === undefined ? [] : [{ name: modelEnvironmentVariables[provider].apiKey, value }];
  });
}
