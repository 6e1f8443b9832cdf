import { describe, expect, it } from 'vitest';
import { processEnvironment, readAirlockEnvironment, storeLocationFor } from './index.ts';

describe('readAirlockEnvironment', () => {
  it('defaults the state directory to ~/.local/state/airlock from HOME', () => {
    expect(readAirlockEnvironment({ HOME: '/home/ada' })).toEqual({ home: '/home/ada/.local/state/airlock' });
  });

  it('prefers AIRLOCK_HOME, normalised', () => {
    expect(readAirlockEnvironment({ HOME: '/home/ada', AIRLOCK_HOME: '/var/lib/airlock/' }).home).toBe(
      '/var/lib/airlock/',
    );
    expect(readAirlockEnvironment({ AIRLOCK_HOME: '/srv//airlock/./state' }).home).toBe('/srv/airlock/state');
  });

  it('reads AIRLOCK_STORE, which wins over airlock.yaml and the state directory', () => {
    const environment = readAirlockEnvironment({
      HOME: '/home/ada',
      AIRLOCK_STORE: 'postgres://a@db.example.test/airlock',
    });
    expect(environment.store).toEqual({ kind: 'postgres', url: 'postgres://a@db.example.test/airlock' });
    expect(storeLocationFor({ kind: 'sqlite', path: 'x.db' }, environment)).toEqual(environment.store);
    const plain = readAirlockEnvironment({ HOME: '/home/ada', AIRLOCK_STORE: '' });
    expect(storeLocationFor({ kind: 'sqlite', path: 'x.db' }, plain)).toEqual({
      kind: 'sqlite',
      path: 'x.db',
    });
    expect(storeLocationFor(undefined, plain)).toEqual({
      kind: 'sqlite',
      path: '/home/ada/.local/state/airlock/airlock.db',
    });
  });

  it('refuses a malformed AIRLOCK_STORE without repeating its password', () => {
    let caught: unknown;
    try {
      readAirlockEnvironment({ HOME: '/home/ada', AIRLOCK_STORE: 'postgres://u:hunter2@db.example.test' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'INVALID_CONFIG', details: { variable: 'AIRLOCK_STORE' } });
    expect(JSON.stringify(caught) + String((caught as Error).message)).not.toContain('hunter2');
  });

  it('treats an empty AIRLOCK_HOME as unset', () => {
    expect(readAirlockEnvironment({ HOME: '/home/ada', AIRLOCK_HOME: '' }).home).toBe(
      '/home/ada/.local/state/airlock',
    );
  });

  it('refuses a relative AIRLOCK_HOME, which would move with the working directory', () => {
    expect(() => readAirlockEnvironment({ HOME: '/home/ada', AIRLOCK_HOME: 'state' })).toThrow(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        details: expect.objectContaining({ variable: 'AIRLOCK_HOME' }),
      }),
    );
  });

  it('refuses to guess a state directory without HOME or AIRLOCK_HOME', () => {
    const cases = [{}, { HOME: '' }, { HOME: 'relative' }];
    expect(cases.length).toBeGreaterThan(0);
    for (const env of cases) {
      expect(() => readAirlockEnvironment(env), JSON.stringify(env)).toThrow(
        expect.objectContaining({ code: 'INVALID_CONFIG' }),
      );
    }
  });

  it('reads AIRLOCK_TOKEN as the admin token; empty means unset', () => {
    expect(readAirlockEnvironment({ HOME: '/h', AIRLOCK_TOKEN: 's3cret-token' }).adminToken).toBe(
      's3cret-token',
    );
    expect(readAirlockEnvironment({ HOME: '/h', AIRLOCK_TOKEN: '' })).not.toHaveProperty('adminToken');
  });

  it('refuses a token that could split an HTTP header', () => {
    const cases = ['abc\r\nX-Injected: 1', 'has space', 'nul\0'];
    expect(cases.length).toBeGreaterThan(0);
    for (const token of cases) {
      expect(
        () => readAirlockEnvironment({ HOME: '/h', AIRLOCK_TOKEN: token }),
        JSON.stringify(token),
      ).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    }
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(readAirlockEnvironment({ HOME: '/h' }))).toBe(true);
  });
});

describe('processEnvironment', () => {
  it('is a frozen snapshot that later process.env changes do not reach', () => {
    const snapshot = processEnvironment();
    const name = `AIRLOCK_TEST_${process.pid}`;
    process.env[name] = 'later';
    try {
      expect(snapshot[name]).toBeUndefined();
      expect(Object.isFrozen(snapshot)).toBe(true);
    } finally {
      delete process.env[name];
    }
  });
});
