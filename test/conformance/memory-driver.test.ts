/**
 * The in-memory test double keeps the driver contract, so unit tests built on it (sessions, router,
 * surfaces) stand on the same ground as the real drivers.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryDriver } from '../support/memory-driver/index.ts';
import { conformanceSpec, defineDriverConformance } from './driver-conformance.ts';

defineDriverConformance({
  name: 'memory (test double)',
  unavailable: undefined,
  makeDriver: createMemoryDriver,
});

describe('the in-memory sandbox', () => {
  it('refuses syntax it does not know with status 2, instead of misreading it', async () => {
    const sandbox = await createMemoryDriver().create(conformanceSpec);
    const cases = ['echo a | tr a b', 'sleep 1 &', 'echo $(id)', 'echo `id`', '(cd /tmp)'];
    expect(cases.length).toBeGreaterThan(0);
    for (const command of cases) {
      const result = await sandbox.exec(command);
      expect(result.exitCode, command).toBe(2);
      expect(result.stderr, command).toMatch(/does not support/);
    }
    await sandbox.destroy();
  });

  it('keeps writes to the writable areas within the scratch size and everything else read-only', async () => {
    const sandbox = await createMemoryDriver().create({ ...conformanceSpec, scratchBytes: 1024 });
    const result = await sandbox.exec(
      'head -c 2000 /dev/zero > /workspace/big; echo "big=$?"; echo x > /etc/evil; echo "etc=$?"',
    );
    expect(result.stdout).toBe('big=1\netc=2\n');
    expect(result.stderr).toMatch(/No space left on device/);
    expect(result.stderr).toMatch(/Read-only file system/);
    await sandbox.destroy();
  });

  it('runs and-or lists the way sh does', async () => {
    const sandbox = await createMemoryDriver().create(conformanceSpec);
    const result = await sandbox.exec('false && echo no || echo yes; true || echo no; echo "${UNSET:-dflt}"');
    expect(result.stdout).toBe('yes\ndflt\n');
    await sandbox.destroy();
  });
});
