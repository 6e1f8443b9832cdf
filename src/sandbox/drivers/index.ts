export { createBwrapDriver, sweepBwrapLeftovers } from './bwrap/index.ts';
export type { BwrapDriverOptions } from './bwrap/index.ts';
export { createDockerDriver, sweepDockerLeftovers } from './docker/index.ts';
export type { DockerDriverOptions } from './docker/index.ts';
export { createGvisorDriver, sweepGvisorLeftovers } from './gvisor/index.ts';
export type { GvisorDriverOptions } from './gvisor/index.ts';
