import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The repository's own lint configuration, run on import lines placed (virtually) at a path: the
// rule is checked as it is configured, not a copy of it.
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: repoRoot });

async function importErrors(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`export * from '${source}';\n`, { filePath });
  return (result?.messages ?? [])
    .filter((message) => message.ruleId === 'no-restricted-imports')
    .map((message) => message.message);
}

describe('the sandbox sub-folder doors', () => {
  const refused: [file: string, source: string][] = [
    // Another driver reaching into bwrap's plan, launcher or state: the layout gvisor once had.
    ['src/sandbox/drivers/gvisor/driver.ts', '../bwrap/plan.ts'],
    ['src/sandbox/drivers/docker/plan.ts', '../gvisor/plan.ts'],
    // A shared folder entered past its door.
    ['src/sandbox/drivers/docker/driver.ts', '../../layout/etc-files.ts'],
    ['src/sandbox/drivers/bwrap/driver.ts', '../../supervisor/client.ts'],
    ['src/sandbox/host-uids/allocator.ts', '../state-dir/state-dir.ts'],
    // Two folders at once: drivers/ has a door of its own.
    ['src/sandbox/index.ts', './drivers/bwrap/index.ts'],
    ['src/sandbox/sweep.ts', './drivers/docker/sweep.ts'],
  ];
  const allowed: [file: string, source: string][] = [
    ['src/sandbox/drivers/gvisor/driver.ts', '../../launcher/index.ts'],
    ['src/sandbox/drivers/docker/plan.ts', '../gvisor/index.ts'],
    ['src/sandbox/index.ts', './drivers/index.ts'],
    // Inside its own folder a file imports its neighbours directly.
    ['src/sandbox/drivers/bwrap/driver.ts', './plan.ts'],
    ['src/sandbox/launcher/launcher.ts', './launcher-plan.ts'],
    // Tests under test/ may reach the internals they test (a protocol fuzzer, syscall tables).
    ['test/fuzz/helper-frames.test.ts', '../../src/sandbox/supervisor/protocol.ts'],
  ];

  it('has cases', () => {
    expect(refused.length).toBeGreaterThan(0);
    expect(allowed.length).toBeGreaterThan(0);
  });

  it.each(refused)('refuses %s importing %s', async (file, source) => {
    const errors = await importErrors(file, source);
    expect(errors.some((message) => message.includes('through its index.ts'))).toBe(true);
  });

  it.each(allowed)('lets %s import %s', async (file, source) => {
    expect(await importErrors(file, source)).toEqual([]);
  });

  it('still refuses a stage folder entered past its door from another stage', async () => {
    const errors = await importErrors('src/router/router.ts', '../sandbox/drivers/index.ts');
    expect(errors.length).toBeGreaterThan(0);
  });
});
