import { describe, expect, it } from 'vitest';
import { allowEntryProblem, compileAllowList, parseAllowEntry, type HostRule } from './allow-list.ts';
import { parseAuthority, parseTargetHost } from './host-name.ts';

function rules(...entries: string[]): HostRule[] {
  return entries.map((entry) => {
    const parsed = parseAllowEntry(entry);
    if (!parsed.ok || 'registry' in parsed.value) throw new Error(`not a host rule: ${entry}`);
    return parsed.value;
  });
}

describe('parseAllowEntry', () => {
  it('reads hosts, globs, ports and registry names', () => {
    expect(parseAllowEntry('API.Example.test')).toEqual({
      ok: true,
      value: { host: 'api.example.test', ports: [80, 443] },
    });
    expect(parseAllowEntry('*.docs.example.org:443')).toEqual({
      ok: true,
      value: { host: '*.docs.example.org', ports: [443] },
    });
    expect(parseAllowEntry('registry:npm')).toEqual({ ok: true, value: { registry: 'npm' } });
    expect(parseAllowEntry('registry:pypi')).toEqual({ ok: true, value: { registry: 'pypi' } });
  });

  it('refuses entries that allow everything, addresses, schemes and junk with a sentence', () => {
    const bad: ReadonlyArray<[string, RegExp]> = [
      ['*', /too much/],
      ['*.*', /too much/],
      ['*.com', /too much/],
      ['a.*.example.com', /too much/],
      ['127.0.0.1', /address/],
      ['https://api.example.com', /not a host|port/],
      ['api.example.com/path', /not a host/],
      ['api.example.com:0', /port/],
      ['api.example.com:99999', /port/],
      ['api.example.com:', /port/],
      ['registry:cargo', /no registry/],
      ['', /not a host/],
      ['ex ample.com', /not a host/],
    ];
    expect(bad.length).toBeGreaterThan(0);
    for (const [entry, words] of bad) expect(allowEntryProblem(entry), entry).toMatch(words);
  });
});

describe('compileAllowList', () => {
  const list = compileAllowList(rules('api.example.test', '*.docs.example.org:443', 'git.example.test:22'));

  it('matches exact names on the default ports and globs below their name only', () => {
    expect(list.allows('api.example.test', 443)).toBe(true);
    expect(list.allows('api.example.test', 80)).toBe(true);
    expect(list.allows('api.example.test', 8080)).toBe(false);
    expect(list.allows('a.docs.example.org', 443)).toBe(true);
    expect(list.allows('a.b.docs.example.org', 443)).toBe(true);
    expect(list.allows('a.docs.example.org', 80)).toBe(false);
    expect(list.allows('docs.example.org', 443)).toBe(false);
    expect(list.allows('git.example.test', 22)).toBe(true);
  });

  it('does not match look-alike names (adversarial)', () => {
    for (const host of [
      'evildocs.example.org',
      'api.example.test.evil.example',
      'xapi.example.test',
      'docs.example.org.evil.example',
    ]) {
      expect(list.allows(host, 443), host).toBe(false);
    }
  });

  it('describes itself in one line for the refusal', () => {
    expect(list.describe()).toBe('api.example.test, *.docs.example.org:443, git.example.test:22');
    expect(compileAllowList([]).describe()).toBe('none');
    const many = compileAllowList(rules(...Array.from({ length: 12 }, (_, i) => `h${i}.example.test`)));
    expect(many.describe()).toMatch(/h7\.example\.test and 4 more$/);
  });
});

describe('parseTargetHost and parseAuthority', () => {
  it('normalises case, a trailing dot and IPv6 brackets', () => {
    expect(parseTargetHost('API.Example.TEST.')).toEqual({
      ok: true,
      value: { kind: 'name', host: 'api.example.test' },
    });
    expect(parseTargetHost('[::1]')).toEqual({ ok: true, value: { kind: 'ip', host: '::1' } });
    expect(parseAuthority('[2001:db8::1]:443')).toEqual({
      ok: true,
      value: { host: { kind: 'ip', host: '2001:db8::1' }, port: 443 },
    });
  });

  it('refuses names a resolver could read as addresses, and non-ASCII look-alikes (adversarial)', () => {
    for (const raw of [
      '127.1',
      '2130706433',
      '0x7f.1',
      'аpple.example',
      'a..example',
      '-a.example',
      'a_b.example',
      'fe80::1%eth0',
    ]) {
      expect(parseTargetHost(raw).ok, raw).toBe(false);
    }
    for (const authority of [
      'api.example.test',
      'api.example.test:',
      'api.example.test:65536',
      '::1:443',
      'a:b:443',
    ]) {
      expect(parseAuthority(authority).ok, authority).toBe(false);
    }
  });
});
