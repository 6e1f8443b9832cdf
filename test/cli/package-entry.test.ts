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
    expect(() => sandbox.createDriver('docker')).toThrow(/not available/);
  });
});
