import { describe, expect, it } from 'vitest';
import { analyzeShell } from '../shell/index.ts';
import { checkRunExtras, judgedText, MAX_COMMAND_ENV_ENTRIES, MAX_STDIN_BYTES } from './run-extras.ts';

describe('a command’s own cwd, env and stdin', () => {
  it('shows the policy each variable as one quoted assignment, whatever its value (adversarial)', () => {
    const values = ["'; rm -rf / #", '$(id)', '`id`', 'a\nb', '\\', "''"];
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) {
      const text = judgedText('ls', { X: value });
      const analysis = analyzeShell(text);
      // Two commands, the export and ls: nothing of the value escaped its quotes to run on its own.
      expect(
        analysis.commands.map((command) => command.program),
        text,
      ).toEqual(['export', 'ls']);
      expect(analysis.hazards).toEqual([]);
    }
    expect(judgedText('ls', {})).toBe('ls');
  });

  it('refuses bad variables, directories and oversized input with a typed error', () => {
    const bad: Array<[Parameters<typeof checkRunExtras>[0], string]> = [
      [{ env: { '1A': 'x' } }, 'INVALID_ARGUMENT'],
      [{ env: { A: 'x\0' } }, 'INVALID_ARGUMENT'],
      [
        {
          env: Object.fromEntries(
            Array.from({ length: MAX_COMMAND_ENV_ENTRIES + 1 }, (_, i) => [`V${i}`, '']),
          ),
        },
        'INVALID_ARGUMENT',
      ],
      [{ cwd: '/etc' }, 'PATH_OUTSIDE_SANDBOX'],
      [{ cwd: 'a/../../etc' }, 'PATH_OUTSIDE_SANDBOX'],
      [{ stdin: new Uint8Array(MAX_STDIN_BYTES + 1) }, 'INVALID_ARGUMENT'],
    ];
    expect(bad.length).toBeGreaterThan(0);
    for (const [options, code] of bad)
      expect(() => checkRunExtras(options)).toThrow(expect.objectContaining({ code }));
    expect(checkRunExtras({ cwd: 'src', env: { A: 'b' }, stdin: 'hi' })).toEqual({
      cwd: '/workspace/src',
      env: { A: 'b' },
      stdin: new TextEncoder().encode('hi'),
    });
  });
});
