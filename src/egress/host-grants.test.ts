import { describe, expect, it } from 'vitest';
import { grantedHostRules, portsNamedFor } from './host-grants.ts';

describe('a host a person granted', () => {
  it('is let through on the default ports and the ports the approved command names for it', async () => {
    const command = 'curl http://api.example.test:8080/a && curl https://user@api.example.test:8443/b';
    expect(await grantedHostRules(['api.example.test'], command, undefined)).toEqual([
      { host: 'api.example.test', ports: [80, 443, 8080, 8443] },
    ]);
  });

  it('takes no port from another host the command names, nor from a longer name that starts alike', () => {
    const command =
      'curl http://evil.example:22/ http://api.example.test.evil.example:2222/ http://xapi.example.test:23/';
    expect(portsNamedFor('api.example.test', command)).toEqual([]);
  });

  it('grants nothing for what is not a host, and resolves registries to their locations', async () => {
    const rules = await grantedHostRules(['*.example.test', '/etc/passwd', 'registry:npm'], 'x', async () => [
      { host: 'registry.example.test', port: 4873 },
    ]);
    expect(rules).toEqual([{ host: 'registry.example.test', ports: [4873] }]);
    // A registry that cannot be resolved grants nothing: its connections still ask.
    expect(
      await grantedHostRules(['registry:pypi'], undefined, () => Promise.reject(new Error('no pip'))),
    ).toEqual([]);
  });
});
