export { createGvisorDriver } from './driver.ts';
export type { GvisorDriverOptions } from './driver.ts';
export { sweepGvisorLeftovers } from './sweep.ts';
// Docker's runsc runtime is gVisor too: its containers are sized and confined the same way.
export {
  GVISOR_MEMORY_OVERHEAD_BYTES,
  devicesRemoved,
  gvisorHostPidsLimit,
  supervisorCapabilities,
} from './plan.ts';
