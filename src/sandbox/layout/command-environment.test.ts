import { describe, expect, it } from 'vitest';
import { commandEnvironment } from './command-environment.ts';

describe('commandEnvironment', () => {
  it('layers defaults, the spec grants and the call, and nothing else', () => {
    expect(commandEnvironment({ GRANTED: '1', LANG: 'en_US.UTF-8' }, { PER_CALL: '2' })).toEqual({
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/workspace',
      LANG: 'en_US.UTF-8',
      GRANTED: '1',
      PER_CALL: '2',
    });
  });
});
