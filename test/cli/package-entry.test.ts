import { describe, expect, it } from 'vitest';

describe('package entry points', () => {
  it('exposes the sandbox drivers, the policy engine and the error root from src/index.ts', async () => {
    const airlock = await import('../../src/index.ts');
    expect(typeof airlock.createDriver).toBe('function');
    expect(typeof airlock.createPolicyEngine).toBe('function');
    expect(airlock.loadPolicy({ preset: 'readonly' }).origin).toBe('preset:readonly');
    expect(new airlock.AirlockError('NOT_FOUND', 'x').code).toBe('NOT_FOUND');
  });

  it('exposes the sandbox surface from src/sandbox/index.ts', async () => {
    const sandbox = await import('../../src/sandbox/index.ts');
    // Creating a driver starts nothing: each one checks its prerequisites on first use.
    for (const name of ['bwrap', 'gvisor', 'docker'] as const)
      expect(sandbox.createDriver(name).name).toBe(name);
    expect(typeof sandbox.buildBaseImage).toBe('function');
  });

  it('exposes the HTTP client as airlock/sdk', async () => {
    const sdk = await import('airlock/sdk');
    const client = new sdk.AirlockClient({ url: 'http://127.0.0.1:1', token: 't' });
    expect(typeof client.sessions.create).toBe('function');
  });
});
