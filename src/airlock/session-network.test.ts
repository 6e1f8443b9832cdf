import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.ts';
import { sessionNetworkOf } from './session-network.ts';

const network = parseConfig(
  'sandbox:\n  network: { mode: ask, allow: [api.example.test, "*.docs.example.org:443", "registry:npm"] }\n',
  'airlock.yaml',
).sandbox.network;

describe('the network a session is said to reach', () => {
  it('is loopback only while no egress proxy serves sessions, whatever the file asks for', () => {
    expect(sessionNetworkOf(network, null)).toEqual({ mode: 'none', allow: [], registryNames: {} });
  });

  it('is the configured mode and allow-list once a proxy serves sessions', () => {
    const registryNames = { npm: ['registry.example.test'] };
    expect(sessionNetworkOf(network, { registryNames })).toEqual({
      mode: 'ask',
      allow: ['api.example.test', '*.docs.example.org:443', 'registry:npm'],
      registryNames,
    });
    const none = parseConfig('sandbox:\n  network: none\n', 'airlock.yaml').sandbox.network;
    expect(sessionNetworkOf(none, { registryNames }).mode).toBe('none');
  });
});
