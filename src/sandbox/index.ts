import { AirlockError } from '../errors/index.ts';
import type { BwrapDriverOptions } from './drivers/bwrap/driver.ts';
import { createBwrapDriver } from './drivers/bwrap/driver.ts';
import type { Driver, DriverName } from './types.ts';

export type DriverOptions = BwrapDriverOptions;

/** The one place a driver name becomes a driver. */
export function createDriver(name: DriverName, options: DriverOptions = {}): Driver {
  switch (name) {
    case 'bwrap':
      return createBwrapDriver(options);
    case 'gvisor':
    case 'docker':
      throw new AirlockError(
        'SANDBOX_UNAVAILABLE',
        `the ${name} driver is not available in this version of Airlock; use --driver bwrap`,
        { driver: name },
      );
  }
}

export { CapturedStream, defaultCaptureLimits } from './output/index.ts';
export type { CaptureLimits } from './output/index.ts';
export { resolveSandboxPath } from './paths.ts';
export type {
  Driver,
  DriverName,
  ExecOptions,
  ExecResult,
  FileEntry,
  ReadFileOptions,
  Sandbox,
  SandboxSpec,
  SandboxStats,
  WriteFileOptions,
} from './types.ts';
