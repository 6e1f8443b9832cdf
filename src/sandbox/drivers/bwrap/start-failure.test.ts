import { describe, expect, it } from 'vitest';
import { explainStartFailure } from './start-failure.ts';

describe('explainStartFailure', () => {
  const cases: [string, RegExp][] = [
    ['bwrap: setting up uid map: Permission denied', /apparmor_restrict_unprivileged_userns/],
    [
      'bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces',
      /user\.max_user_namespaces/,
    ],
    ["bwrap: Can't mount proc on /newroot/proc: Operation not permitted", /fresh \/proc/],
  ];

  it('has cases', () => expect(cases.length).toBeGreaterThan(0));

  it('adds the fix to the bwrap failures users meet most', () => {
    for (const [line, fix] of cases) {
      const explained = explainStartFailure(line);
      expect(explained.startsWith(line)).toBe(true);
      expect(explained).toMatch(fix);
    }
  });

  it('passes an unknown failure through unchanged', () => {
    expect(explainStartFailure('bwrap: something new')).toBe('bwrap: something new');
  });
});
