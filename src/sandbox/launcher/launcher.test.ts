import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnLauncher } from './launcher.ts';

describe('firstErrorLine', () => {
  async function errorLineOf(script: string): Promise<string> {
    const launcher = spawnLauncher({ file: '/bin/sh', args: ['-c', script], env: {}, cwd: '/', fds: [] });
    await launcher.exited;
    return launcher.firstErrorLine();
  }

  it("passes over runsc's log notices to its error", async () => {
    const notice =
      'W1127 15:39:17.533640   30137 membarrier.go:48] membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) failed: operation not permitted';
    const line = await errorLineOf(
      `echo '${notice}' >&2; echo 'running container: creating container: boom' >&2; exit 128`,
    );
    expect(line).toBe('running container: creating container: boom');
  });

  it('gives the first line when every line is a notice, and bwrap errors as they are', async () => {
    expect(await errorLineOf("echo 'I1127 10:00:00.000001 1 main.go:1] only notice' >&2")).toBe(
      'I1127 10:00:00.000001 1 main.go:1] only notice',
    );
    expect(await errorLineOf("echo 'bwrap: execvp x: No such file' >&2; echo 'second' >&2")).toBe(
      'bwrap: execvp x: No such file',
    );
  });
});

describe('spawnLauncher', () => {
  it('reports a launcher that cannot be started as its exit, instead of an error event that ends the process', async () => {
    // A file that is not executable: spawn fails with EACCES, asynchronously.
    const dir = mkdtempSync(join(tmpdir(), 'airlock-launcher-test-'));
    try {
      const file = join(dir, 'not-executable');
      writeFileSync(file, '#!/bin/sh\n', { mode: 0o644 });
      const launcher = spawnLauncher({ file, args: [], env: {}, cwd: '/', fds: [] });
      await launcher.exited;
      expect(launcher.firstErrorLine()).toMatch(/cannot start the launcher: .*EACCES/);
      await launcher.abandon();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
