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
});
