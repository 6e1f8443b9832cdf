import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import type { GvisorPlatform } from './plan.ts';

export interface PlatformChoice {
  platform: GvisorPlatform;
  /** Why each better platform was passed over, for session_info and error messages. */
  skipped: { platform: GvisorPlatform; reason: string }[];
}

/** Order of preference: systrap (fast, needs no device), KVM (fast on bare metal), ptrace (works anywhere). */
const preference: readonly GvisorPlatform[] = ['systrap', 'kvm', 'ptrace'];
/** A platform that cannot start `true` this fast does not work here (nested KVM hangs, for one). */
const PROBE_TIMEOUT_MS = 3_000;

function knownPlatforms(runscPath: string): Set<string> {
  const help = spawnSync(runscPath, ['flags'], { encoding: 'utf8', shell: false, env: {}, timeout: 5_000 });
  const text = `${help.stdout ?? ''}${help.stderr ?? ''}`;
  const line = /-platform string\s*\n\s*(.*)/.exec(text)?.[1] ?? '';
  const found = new Set(preference.filter((name) => line.includes(name)));
  found.add('ptrace');
  return found;
}

function probe(runscPath: string, platform: GvisorPlatform): Promise<string | undefined> {
  const root = mkdtempSync(join('/tmp', 'airlock-runsc-probe-'));
  return new Promise<string | undefined>((resolve) => {
    const child = spawn(
      runscPath,
      [`--root=${root}`, `--platform=${platform}`, '--network=none', '--ignore-cgroups', 'do', '/bin/true'],
      { shell: false, env: {}, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    child.once('error', (error) => resolve(error.message));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(undefined);
      else if (signal) resolve(`no answer within ${PROBE_TIMEOUT_MS} ms`);
      else resolve(stderr.trim().split('\n').pop() || `exit ${code}`);
    });
  }).finally(() => rmSync(root, { recursive: true, force: true }));
}

/**
 * Finds the best platform that starts a sandbox on this machine. The answer is cached in the state
 * directory per runsc binary and kernel, so only the first driver on a machine pays for the probes.
 */
export async function choosePlatform(runscPath: string, cacheDir: string): Promise<PlatformChoice> {
  const binary = statSync(runscPath);
  const key = `${runscPath}:${binary.size}:${binary.mtimeMs}:${release()}`;
  const cacheFile = join(cacheDir, 'platform.json');
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key?: string; choice?: PlatformChoice };
    if (cached.key === key && cached.choice && preference.includes(cached.choice.platform))
      return cached.choice;
  } catch {
    // no cache yet
  }
  const known = knownPlatforms(runscPath);
  const skipped: PlatformChoice['skipped'] = [];
  for (const platform of preference) {
    if (!known.has(platform)) {
      skipped.push({ platform, reason: 'this runsc does not have it' });
      continue;
    }
    if (platform === 'kvm') {
      try {
        accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
      } catch {
        skipped.push({ platform, reason: '/dev/kvm is not usable' });
        continue;
      }
    }
    const failure = await probe(runscPath, platform);
    if (failure === undefined) {
      const choice = { platform, skipped };
      writeFileSync(cacheFile, JSON.stringify({ key, choice }), { mode: 0o600 });
      return choice;
    }
    skipped.push({ platform, reason: failure });
  }
  throw new Error(skipped.map(({ platform, reason }) => `${platform}: ${reason}`).join('; '));
}
