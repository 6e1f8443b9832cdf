/**
 * The README's `airlock agent run` example, run as written (only the server's port differs) against
 * the scripted model server answering as the model in the README did: the transcript it prints is
 * the one the README shows, line for line, save session ids, times and token counts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentHome, bwrapMissing, scripted, startAgent } from './support.ts';

const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const section = readme.slice(readme.indexOf('### A model of your choice'));

/** The words of a documented command line, double-quoted arguments kept whole. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2] ?? '');
}

/** A documented transcript line as a pattern: `…` and figures stand for whatever the run printed. */
function linePattern(line: string): RegExp {
  const slots: Array<[RegExp, string]> = [
    [/…(?! \d+ more lines)/g, '.+'],
    [/\d[\d.]* s\b/g, '[\\d.]+ s'],
    [/[\d,]+ tokens in, [\d,]+ out/g, '[\\d,]+ tokens in, [\\d,]+ out'],
    [/127\.0\.0\.1:8080/g, '127\\.0\\.0\\.1:\\d+'],
  ];
  // Each variable part becomes a placeholder, the rest is escaped, then each placeholder its pattern.
  const patterns: string[] = [];
  let text = line;
  for (const [find, pattern] of slots) {
    text = text.replace(find, () => `@@${patterns.push(pattern) - 1}@@`);
  }
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    `^${escaped.replace(/@@(\d+)@@/g, (_, index: string) => patterns[Number(index)] ?? '')}$`,
  );
}

describe.skipIf(bwrapMissing)("the README's agent example", () => {
  it('runs as written against a local OpenAI-compatible server and prints the transcript shown', async () => {
    const commandLine = section.split('\n').find((line) => line.startsWith('npx airlock agent run --model '));
    const shown = /```\n(airlock agent: [\s\S]*?)```/.exec(section)?.[1];
    expect(commandLine).toBeDefined();
    expect(shown).toBeDefined();
    const args = words(commandLine ?? '').slice(4);
    const fizzbuzz = `cat > fizzbuzz.py <<'EOF'
for i in range(1, 16):
    print("FizzBuzz" if i % 15 == 0 else "Fizz" if i % 3 == 0 else "Buzz" if i % 5 == 0 else i)
EOF`;
    const server = await scripted([
      {
        text: "I'll write the script, then run it.",
        toolCalls: [{ name: 'run_command', arguments: { command: fizzbuzz } }],
      },
      { toolCalls: [{ name: 'run_command', arguments: { command: 'python3 fizzbuzz.py' } }] },
      (request) => ({
        text: request.toolResults.at(-1)?.includes('FizzBuzz')
          ? 'It prints 1, 2, Fizz, 4, Buzz, Fizz, 7, 8, Fizz, Buzz, 11, Fizz, 13, 14, FizzBuzz.'
          : 'It did not run.',
      }),
    ]);
    const baseUrl = args.indexOf('--base-url');
    expect(args[baseUrl + 1]).toBe('http://127.0.0.1:8080/v1');
    args[baseUrl + 1] = server.baseUrl;
    // A local server needs no key: none is set, as on the README's machine.
    const { exitCode, stdout } = await startAgent(args, agentHome(''), { OPENAI_API_KEY: '' }).exited;
    expect(exitCode).toBe(0);
    const expected = (shown ?? '').trimEnd().split('\n');
    const printed = stdout.trimEnd().split('\n');
    expect(expected.length).toBeGreaterThan(10);
    expect(printed).toHaveLength(expected.length);
    expected.forEach((line, index) => expect(printed[index], `line ${index + 1}`).toMatch(linePattern(line)));
    expect(server.received[0]?.body).toMatchObject({ model: 'qwen2.5-coder' });
  });
});
