import { describe, expect, it } from 'vitest';
import { globsIntersect, globSubsumes, globToRegExp, tokenizeGlob } from './index.ts';

const t = (p: string, shell = false) => tokenizeGlob(p, shell);

describe('glob set relations', () => {
  it('matches literal strings like bash paths', () => {
    expect(globToRegExp(t('~/.ssh/**')).test('~/.ssh/id_rsa')).toBe(true);
    expect(globToRegExp(t('**/.env')).test('./.env')).toBe(true);
    expect(globToRegExp(t('**/.env')).test('./.env.example')).toBe(false);
    expect(globToRegExp(t('/proc/*/environ')).test('/proc/self/environ')).toBe(true);
    expect(globToRegExp(t('/proc/*/environ')).test('/proc/a/b/environ')).toBe(false);
  });

  it('finds that a glob the command wrote may reach a protected file', () => {
    expect(globsIntersect(t('/etc/shadow'), t('/e??/sha*', true))).toBe(true);
    expect(globsIntersect(t('**/.env'), t('./.e*', true))).toBe(true);
    expect(globsIntersect(t('~/.ssh/**'), t('~/.s?h/id_rsa', true))).toBe(true);
    expect(globsIntersect(t('**/.env'), t('./*.md', true))).toBe(false);
  });

  it('knows bash globs do not match a leading dot', () => {
    expect(globsIntersect(t('**/.env'), t('./*', true))).toBe(false);
    expect(globsIntersect(t('**/.env'), t('./src/?env', true))).toBe(false);
    expect(globsIntersect(t('**/.env'), t('./*', false))).toBe(true);
  });

  it('only says "subset" when it is sure', () => {
    expect(globSubsumes(t('./**'), t('./src/*.ts', true))).toBe(true);
    expect(globSubsumes(t('./**'), t('/tmp/*', true))).toBe(false);
    expect(globSubsumes(t('~/.ssh/**'), t('~/.ssh/*', true))).toBe(true);
    expect(globSubsumes(t('./*.md'), t('./*', true))).toBe(false);
  });

  it('bounds the work of one comparison and then answers cautiously (adversarial: huge patterns)', () => {
    const huge = t(`${'*a'.repeat(200)}/x`);
    const other = t(`${'?b'.repeat(200)}/x`);
    // Past the bound: "may intersect" (a deny rule still keeps it from allow), "not covered".
    expect(globsIntersect(huge, other)).toBe(true);
    // `**/*/*/…` does cover `/a/a/…`, but proving it would pass the bound: not covered.
    expect(globSubsumes(t(`**${'/*'.repeat(100)}`), t('/a'.repeat(100)))).toBe(false);
    expect(globSubsumes(t(`**${'/*'.repeat(3)}`), t('/a'.repeat(3)))).toBe(true);
    const start = performance.now();
    for (let i = 0; i < 100; i++) globsIntersect(huge, other);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});
