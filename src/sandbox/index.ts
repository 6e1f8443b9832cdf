import { AirlockError } from '../errors/index.ts';
import type { BwrapDriverOptions, DockerDriverOptions, GvisorDriverOptions } from './drivers/index.ts';
import { createBwrapDriver, createDockerDriver, createGvisorDriver } from './drivers/index.ts';
import type { Driver, DriverName } from './types.ts';
import { withWarmPool } from './warm-pool.ts';

/** Options of every driver; each driver reads the ones it knows. */
export interface DriverOptions
  extends BwrapDriverOptions,
    Omit<GvisorDriverOptions, keyof BwrapDriverOptions>,
    Omit<DockerDriverOptions, keyof BwrapDriverOptions> {
  /** Sandboxes to keep created ahead of need, per spec; 0 (the default) creates on demand. */
  prewarm?: number;
}

/** The one place a driver name becomes a driver. */
export function createDriver(name: DriverName, options: DriverOptions = {}): Driver {
  const { prewarm = 0, ...driverOptions } = options;
  if (!Number.isSafeInteger(prewarm) || prewarm < 0 || prewarm > 64) {
    throw new AirlockError('INVALID_ARGUMENT', `prewarm must be an integer from 0 to 64, got ${prewarm}`, {
      field: 'prewarm',
    });
  }
  const driver = createNamedDriver(name, driverOptions);
  return prewarm > 0 ? withWarmPool(driver, { size: prewarm }) : driver;
}

function createNamedDriver(name: DriverName, options: Omit<DriverOptions, 'prewarm'>): Driver {
  switch (name) {
    case 'bwrap':
      return createBwrapDriver(options);
    case 'gvisor':
      return createGvisorDriver(options);
    case 'docker':
      return createDockerDriver(options);
  }
}

export { CapturedStream, defaultCaptureLimits } from './output/index.ts';
// The helper binary: its relay mode also serves the egress proxy (native/relay.c).
export { defaultHelperPath, isExecutable } from './supervisor/index.ts';
// The most one write to a running command's input may carry (ExecInput.write).
export { MAX_INPUT_BYTES } from './supervisor/index.ts';
// `airlock image build`: the Docker driver's local base image.
export { baseImageTag, buildBaseImage } from './image/index.ts';
export type { BuildBaseImageOptions, BuildBaseImageResult } from './image/index.ts';
export type { CaptureLimits } from './output/index.ts';
export { resolveSandboxPath } from './paths.ts';
export { DEFAULT_UID_RANGE, formatUidRange, parseUidRange } from './host-uids/index.ts';
export type { UidRange } from './host-uids/index.ts';
export type {
  Driver,
  DriverName,
  ExecInput,
  ExecOptions,
  ExecResult,
  FileEntry,
  OutputSink,
  ProcessIsolation,
  ReadFileOptions,
  Sandbox,
  SandboxInfo,
  SandboxSnapshot,
  SandboxEgress,
  SandboxEnd,
  SandboxSpec,
  SandboxStats,
  WriteFileData,
  WriteFileOptions,
} from './types.ts';
export { isImageReference, MAX_TIMEOUT_MS, validateSpec, validateTimeoutMs } from './spec.ts';
export {
  EGRESS_BRIDGE_HOST,
  EGRESS_BRIDGE_PORT,
  EGRESS_CA_BUNDLE_IN_SANDBOX,
  EGRESS_CA_CERTIFICATE_IN_SANDBOX,
} from './egress-mount.ts';
// Start-up: one sweep of every driver's leftovers of control planes that are gone.
export { sweepLeftovers } from './sweep.ts';
export type { DriverSweepResult, SweepLeftoversOptions, SweepLeftoversResult } from './sweep.ts';
export type { ValidateSpecOptions } from './spec.ts';
