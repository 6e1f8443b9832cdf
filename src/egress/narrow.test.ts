import { describe, expect, it } from 'vitest';
import { parseAllowEntry, type AllowEntry } from './allow-list.ts';
import { hostCovered, widerThan } from './narrow.ts';
import type { EgressNetworkPolicy } from './types.ts';

function entries(...texts: string[]): AllowEntry[] {
  return texts.map((text) => {
    const parsed = parseAllowEntry(text);
    if (!parsed.ok) throw new Error(parsed.problem);
    return parsed.value;
  });
}

const server: EgressNetworkPolicy = {
  mode: 'allowlist',
  allow: entries('api.example.test', '*.docs.example.org:443', 'registry:npm'),
  hosts: { 'api.example.test': '127.0.0.1' },
};

describe('a session network within the server’s', () => {
  it('accepts the same list, a part of it, a stricter mode and names below a wildcard', () => {
    const within: EgressNetworkPolicy[] = [
      server,
      { mode: 'allowlist', allow: entries('api.example.test:443'), hosts: {} },
      { mode: 'allowlist', allow: entries('a.docs.example.org:443', '*.v2.docs.example.org:443'), hosts: {} },
      { mode: 'none', allow: entries('anything.example'), hosts: { x: '10.0.0.1' } },
      { mode: 'allowlist', allow: entries('registry:npm'), hosts: { 'api.example.test': '127.0.0.1' } },
    ];
    expect(within.length).toBeGreaterThan(0);
    for (const requested of within)
      expect(widerThan(server, requested), JSON.stringify(requested)).toEqual([]);
  });

  it('names everything wider: mode, host, port, registry, a new or moved fixed address (adversarial)', () => {
    const problems = widerThan(server, {
      mode: 'ask',
      allow: entries(
        'evil.example',
        'api.example.test:22',
        'docs.example.org:443',
        '*.docs.example.org:80',
        '*.example.org:443',
        'registry:pypi',
      ),
      hosts: { 'api.example.test': '169.254.169.254', 'db.example.test': '10.0.0.5' },
    });
    expect(problems).toEqual([
      "mode ask is wider than the server's allowlist",
      "evil.example:80, evil.example:443 is not covered by the server's allow-list",
      "api.example.test:22 is not covered by the server's allow-list",
      "docs.example.org:443 is not covered by the server's allow-list",
      "*.docs.example.org:80 is not covered by the server's allow-list",
      "*.example.org:443 is not covered by the server's allow-list",
      "registry:pypi is not in the server's allow-list",
      "hosts: api.example.test maps to 127.0.0.1 in the server's configuration, not 169.254.169.254",
      "hosts: db.example.test has no fixed address in the server's configuration",
    ]);
  });

  it('never lets a wildcard stand for its own parent or a look-alike domain', () => {
    expect(hostCovered('*.example.org', 'example.org')).toBe(false);
    expect(hostCovered('*.example.org', 'evilexample.org')).toBe(false);
    expect(hostCovered('*.example.org', '*.evilexample.org')).toBe(false);
    expect(hostCovered('api.example.org', '*.api.example.org')).toBe(false);
    expect(hostCovered('*.example.org', 'a.b.example.org')).toBe(true);
  });
});
