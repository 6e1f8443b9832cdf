import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rangeConflicts } from './accounts.ts';
import { createHostUidAllocator, processesRunAs } from './allocator.ts';
import { parseUidRange } from './range.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A lock directory and an /etc with the given passwd, private to one test. */
function scratch(passwd = 'root:x:0:0::/root:/bin/sh\n'): { lockDir: string; accountsDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-uids-test-'));
  dirs.push(dir);
  const accountsDir = join(dir, 'etc');
  mkdirSync(accountsDir);
  writeFileSync(join(accountsDir, 'passwd'), passwd);
  writeFileSync(join(accountsDir, 'group'), 'root:x:0:\n');
  return { lockDir: join(dir, 'uids'), accountsDir };
}

/** Always picks the same candidate first, so a test can aim at one uid. */
const aimAt = (fraction: number) => () => fraction;

function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

describe('uid ranges', () => {
  it('parses FIRST-LAST and refuses uid 0, accounts and nonsense', () => {
    expect(parseUidRange('200000-299999')).toEqual({ first: 200_000, last: 299_999 });
    for (const text of ['0-10', '1000-70000', '9-8', 'x', '200000-3000000000']) {
      expect(typeof parseUidRange(text), text).toBe('string');
    }
  });

  it("finds accounts, groups and other users' subordinate ids inside a range, not airlock's own", () => {
    const conflicts = rangeConflicts(
      { first: 200_000, last: 299_999 },
      {
        passwd: 'root:x:0:0::/:/bin/sh\nbuild:x:250000:100::/:/bin/sh\n',
        group: 'staff:x:250001:\n',
        subuid: 'alice:165536:65536\nairlock:200000:100000\n',
        subgid: 'bob:300000:65536\n',
      },
    );
    expect(conflicts).toEqual([
      'the account build (250000)',
      'the group staff (250001)',
      "alice's subordinate uids 165536-231071",
    ]);
  });
});

describe('host uid allocator', () => {
  it('gives each session its own uid from the range, and takes it back on release', () => {
    const { lockDir, accountsDir } = scratch();
    const allocator = createHostUidAllocator({
      range: { first: 300_000, last: 300_009 },
      lockDir,
      accountsDir,
    });
    const leases = Array.from({ length: 10 }, () => allocator.allocate());
    const uids = leases.map((lease) => lease.uid);
    expect(new Set(uids).size).toBe(10);
    for (const lease of leases) {
      expect(lease.gid).toBe(lease.uid);
      expect(lease.uid).toBeGreaterThanOrEqual(300_000);
      expect(lease.uid).toBeLessThanOrEqual(300_009);
    }
    expect(() => allocator.allocate()).toThrow(expect.objectContaining({ code: 'LIMIT_REACHED' }));
    leases[3]!.release();
    leases[3]!.release();
    expect(allocator.allocate().uid).toBe(uids[3]);
  });

  it('never hands out a uid another live control plane holds (adversarial: two on one host)', () => {
    const { lockDir, accountsDir } = scratch();
    mkdirSync(lockDir, { mode: 0o700 });
    // pid 1 is alive for the whole test: its entry stands for another control plane's.
    writeFileSync(join(lockDir, `300005.1-${startTimeOf(1)}`), '');
    const allocator = createHostUidAllocator({
      range: { first: 300_000, last: 300_009 },
      lockDir,
      accountsDir,
      random: aimAt(0.5),
    });
    const lease = allocator.allocate();
    expect(lease.uid).not.toBe(300_005);
    expect(readdirSync(lockDir).filter((name) => name.startsWith('300005.'))).toHaveLength(1);
  });

  it('takes over the uid of a control plane that died once no process of it is left', () => {
    const { lockDir, accountsDir } = scratch();
    mkdirSync(lockDir, { mode: 0o700 });
    writeFileSync(join(lockDir, '300005.999999999-1'), '');
    const allocator = createHostUidAllocator({
      range: { first: 300_000, last: 300_009 },
      lockDir,
      accountsDir,
      random: aimAt(0.5),
    });
    expect(allocator.allocate().uid).toBe(300_005);
    expect(readdirSync(lockDir)).toEqual([`300005.${process.pid}-${startTimeOf(process.pid)}`]);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'keeps the uid of a dead control plane while a process of it still runs (adversarial: a container not yet swept)',
    async () => {
      const { lockDir, accountsDir } = scratch();
      mkdirSync(lockDir, { mode: 0o700 });
      writeFileSync(join(lockDir, '300005.999999999-1'), '');
      const straggler = spawn('/bin/sleep', ['30'], { uid: 300_005, gid: 300_005, stdio: 'ignore' });
      try {
        await new Promise((resolve) => straggler.once('spawn', resolve));
        expect(processesRunAs(300_005)).toBe(true);
        const allocator = createHostUidAllocator({
          range: { first: 300_000, last: 300_009 },
          lockDir,
          accountsDir,
          random: aimAt(0.5),
        });
        expect(allocator.allocate().uid).not.toBe(300_005);
        expect(allocator.sweep()).toBe(0);
      } finally {
        straggler.kill('SIGKILL');
        await new Promise((resolve) => straggler.once('exit', resolve));
      }
    },
  );

  it("refuses a range holding a host account's uid, naming it", () => {
    const { lockDir, accountsDir } = scratch('root:x:0:0::/:/bin/sh\nci:x:300003:300003::/:/bin/sh\n');
    const allocator = createHostUidAllocator({
      range: { first: 300_000, last: 300_009 },
      lockDir,
      accountsDir,
    });
    expect(() => allocator.allocate()).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('ci (300003)') }),
    );
  });
});
