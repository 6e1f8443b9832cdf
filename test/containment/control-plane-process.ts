/**
 * A control plane in a child process that creates one sandbox and then waits to be killed: the
 * crash tests of every driver kill it with SIGKILL and check what survives.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { onTestFinished } from 'vitest';
import type { DriverName } from '../../src/sandbox/index.ts';
import { baseSpec } from './containment-suite.ts';

export async function startControlPlane(options: {
  /** One driver, or several: the control plane then holds one sandbox of each, in this order. */
  driver: DriverName | readonly DriverName[];
  stateDir: string;
  /** Run in the sandbox before reporting ready (e.g. a background process to look for). */
  command?: string;
  /**
   * A cgroup parent of the test's own: any driver's start-up sweep removes every stale session
   * cgroup under its parent, so under the shared default another test file running at the same
   * time may sweep the crashed control plane's leftovers before the test looks for them.
   */
  cgroupParent?: string;
}): Promise<{ child: ChildProcess; sandboxId: string; sandboxIds: string[] }> {
  const names = typeof options.driver === 'string' ? [options.driver] : [...options.driver];
  const driverOptions = {
    stateDir: options.stateDir,
    ...(options.cgroupParent === undefined ? {} : { cgroupParent: options.cgroupParent }),
  };
  const script = `
    import { createDriver } from ${JSON.stringify(new URL('../../src/sandbox/index.ts', import.meta.url).pathname)};
    const ids = [];
    for (const name of ${JSON.stringify(names)}) {
      const driver = createDriver(name, ${JSON.stringify(driverOptions)});
      const sandbox = await driver.create(${JSON.stringify(baseSpec)});
      ${options.command === undefined ? '' : `await sandbox.exec(${JSON.stringify(options.command)});`}
      ids.push(sandbox.id);
    }
    process.stdout.write('ready ' + ids.join(',') + '\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  const sandboxIds = await new Promise<string[]>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /ready ([\w,]+)/.exec(chunk.toString());
      if (match?.[1]) resolve(match[1].split(','));
    });
    child.once('exit', (code) => reject(new Error(`control plane exited early with ${code}`)));
  });
  return { child, sandboxId: sandboxIds[0] ?? '', sandboxIds };
}
