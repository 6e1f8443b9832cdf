import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { debianMirrorFromSources, readAptSources } from './apt-sources.ts';

describe('the Debian mirror of the machine, from its apt sources', () => {
  it('takes the URI serving the suite from a deb822 file, skipping other suites and deb-src', () => {
    const text = [
      'Types: deb-src',
      'URIs: http://src.mirror.example/debian',
      'Suites: bookworm',
      '',
      'Types: deb',
      'URIs: http://security.mirror.example/debian-security',
      'Suites: bookworm-security',
      '',
      'Types: deb',
      '# a comment line',
      'URIs: http://mirror.example/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
    ].join('\n');
    expect(
      debianMirrorFromSources([{ path: '/etc/apt/sources.list.d/debian.sources', text }], 'bookworm'),
    ).toBe('http://mirror.example/debian');
  });

  it('reads the one-line format with options in brackets, ignoring comments', () => {
    const text = [
      '# deb http://commented.example/debian bookworm main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://proxy.internal.test/debian bookworm main',
    ].join('\n');
    expect(debianMirrorFromSources([{ path: '/etc/apt/sources.list', text }], 'bookworm')).toBe(
      'http://proxy.internal.test/debian',
    );
  });

  it('skips a disabled stanza and files of other kinds', () => {
    const files = [
      {
        path: '/etc/apt/sources.list.d/x.sources',
        text: 'Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n',
      },
      {
        path: '/etc/apt/sources.list.d/x.list.disabled',
        text: 'deb http://disabled.example/debian bookworm main\n',
      },
      { path: '/etc/apt/sources.list.d/y.list', text: 'deb http://on.example/debian bookworm main\n' },
    ];
    expect(debianMirrorFromSources(files, 'bookworm')).toBe('http://on.example/debian');
  });

  it('answers undefined when no source serves the suite', () => {
    expect(
      debianMirrorFromSources(
        [{ path: '/a.list', text: 'deb http://m.example/debian trixie main\n' }],
        'bookworm',
      ),
    ).toBeUndefined();
  });

  it('reads sources.list and sources.list.d from a directory, in name order', () => {
    const root = mkdtempSync(join(tmpdir(), 'airlock-apt-'));
    try {
      mkdirSync(join(root, 'sources.list.d'));
      writeFileSync(join(root, 'sources.list.d', 'b.list'), 'deb http://b.example/debian bookworm main\n');
      writeFileSync(
        join(root, 'sources.list.d', 'a.sources'),
        'Types: deb\nURIs: http://a.example/debian\nSuites: bookworm\n',
      );
      const files = readAptSources(root);
      expect(files.map((file) => file.path.slice(root.length))).toEqual([
        '/sources.list.d/a.sources',
        '/sources.list.d/b.list',
      ]);
      expect(debianMirrorFromSources(files, 'bookworm')).toBe('http://a.example/debian');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
