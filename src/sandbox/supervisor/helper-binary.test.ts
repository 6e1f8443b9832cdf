import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { thrownAirlockError } from '../../../test/support/airlock-errors.ts';
import { publishHelperForSessions } from './helper-binary.ts';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('the helper published for sessions (as root)', () => {
  let base: string;
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  function helper(bytes: string): string {
    base = mkdtempSync(join(tmpdir(), 'airlock-publish-'));
    chmodSync(base, 0o755);
    const path = join(base, 'airlock-helper');
    writeFileSync(path, bytes, { mode: 0o700 });
    return path;
  }

  it('copies the binary, named by its content, where any uid can reach but not change it', () => {
    const source = helper('#!binary one');
    const dir = join(base, 'run', 'helper');
    const published = publishHelperForSessions(source, dir);
    expect(published.startsWith(`${dir}/airlock-helper-`)).toBe(true);
    expect(readFileSync(published, 'utf8')).toBe('#!binary one');
    expect(statSync(published).mode & 0o7777).toBe(0o555);
    // Traversable by the sessions' uids, writable by root only, not listable by others.
    for (const path of [dir, join(base, 'run')]) expect(statSync(path).mode & 0o777).toBe(0o711);
    expect(publishHelperForSessions(source, dir)).toBe(published);
  });

  it('replaces a copy whose bytes were changed, and never runs them (adversarial)', () => {
    const source = helper('#!the real helper');
    const dir = join(base, 'run', 'helper');
    const published = publishHelperForSessions(source, dir);
    chmodSync(published, 0o755);
    writeFileSync(published, '#!planted');
    chmodSync(published, 0o555);
    expect(publishHelperForSessions(source, dir)).toBe(published);
    expect(readFileSync(published, 'utf8')).toBe('#!the real helper');
  });

  it('refuses a directory others can write, where a copy could be swapped (adversarial)', () => {
    const source = helper('#!x');
    const dir = join(base, 'shared');
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    expect(thrownAirlockError(() => publishHelperForSessions(source, dir)).code).toBe('SANDBOX_UNAVAILABLE');
  });
});
