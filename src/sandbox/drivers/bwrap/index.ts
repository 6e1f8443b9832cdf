export { createBwrapDriver } from './driver.ts';
export type { BwrapDriverOptions } from './driver.ts';
export { sweepBwrapLeftovers } from './sweep.ts';
