import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readProcMasks } from './host-layout.ts';

describe('readProcMasks', () => {
  let root = '';
  afterEach(() => {
    if (root !== '') rmSync(root, { recursive: true, force: true });
  });

  it('covers the listed entries a sandbox could open, and skips those only host root may open, empty directories and absent ones', () => {
    root = mkdtempSync(join(tmpdir(), 'airlock-proc-'));
    const files: [string, number][] = [
      ['cmdline', 0o444],
      ['kallsyms', 0o444],
      ['sysrq-trigger', 0o200],
      ['kcore', 0o400],
      ['timer_list', 0o400],
      // Not on the list: never masked, however readable.
      ['cpuinfo', 0o444],
    ];
    expect(files.length).toBeGreaterThan(0);
    for (const [name, mode] of files) {
      writeFileSync(join(root, name), '');
      chmodSync(join(root, name), mode);
    }
    mkdirSync(join(root, 'acpi'));
    writeFileSync(join(root, 'acpi', 'wakeup'), '');
    chmodSync(join(root, 'acpi'), 0o555);
    // Empty: nothing to hide, so no mount to pay for.
    mkdirSync(join(root, 'scsi'));

    expect(readProcMasks(root)).toEqual([
      { path: '/proc/cmdline', kind: 'file' },
      { path: '/proc/kallsyms', kind: 'file' },
      { path: '/proc/acpi', kind: 'dir' },
    ]);
  });

  it('finds the host files this kernel shows every process (the real /proc)', () => {
    const masks = readProcMasks();
    // Every Linux kernel has a world-readable /proc/cmdline.
    expect(masks).toContainEqual({ path: '/proc/cmdline', kind: 'file' });
  });
});
