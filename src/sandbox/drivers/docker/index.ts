export { createDockerDriver } from './driver.ts';
export type { DockerDriverOptions } from './driver.ts';
export { sweepDockerLeftovers } from './sweep.ts';
