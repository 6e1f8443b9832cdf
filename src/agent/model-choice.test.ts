import { describe, expect, it } from 'vitest';
import { createProvider, parseModelName } from './model-choice.ts';

const noEnvironment = { openai: {}, anthropic: {} };

describe('choosing the model provider', () => {
  it('reads the provider prefix, and keeps colons that belong to the model name', () => {
    expect(parseModelName('anthropic:claude-sonnet-4-5')).toEqual({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
    });
    expect(parseModelName('openai:gpt-4.1-mini')).toEqual({ provider: 'openai', model: 'gpt-4.1-mini' });
    expect(parseModelName('llama3.1:8b')).toEqual({ provider: 'openai', model: 'llama3.1:8b' });
    expect(parseModelName('openai:qwen2.5-coder:7b')).toEqual({
      provider: 'openai',
      model: 'qwen2.5-coder:7b',
    });
  });

  it('refuses what is not a model name', () => {
    for (const bad of ['', 'anthropic:', 'gpt 4', 'openai: x']) {
      expect(() => parseModelName(bad), bad).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  it('needs a key for a hosted provider, but not for a local server given by URL', () => {
    const choice = parseModelName('local');
    expect(() =>
      createProvider({ choice, baseUrl: undefined, apiKey: undefined, environment: noEnvironment }),
    ).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('OPENAI_API_KEY') }),
    );
    const local = createProvider({
      choice,
      baseUrl: 'http://127.0.0.1:8080/v1',
      apiKey: undefined,
      environment: noEnvironment,
    });
    expect(local.endpoint).toBe('http://127.0.0.1:8080/v1');
    expect(() =>
      createProvider({
        choice: parseModelName('anthropic:c'),
        baseUrl: 'http://127.0.0.1:1',
        apiKey: undefined,
        environment: noEnvironment,
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        message: expect.stringContaining('ANTHROPIC_API_KEY'),
      }),
    );
  });

  it('takes the endpoint from the environment, and refuses credentials in a URL (adversarial)', () => {
    const environment = {
      openai: { apiKey: 'sk-0123456789', baseUrl: 'http://127.0.0.1:9/v1' },
      anthropic: {},
    };
    expect(
      createProvider({ choice: parseModelName('m'), baseUrl: undefined, apiKey: undefined, environment })
        .endpoint,
    ).toBe('http://127.0.0.1:9/v1');
    for (const url of ['http://user:secret@127.0.0.1/v1', 'file:///etc/passwd', 'not a url']) {
      expect(
        () => createProvider({ choice: parseModelName('m'), baseUrl: url, apiKey: 'k', environment }),
        url,
      ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});
