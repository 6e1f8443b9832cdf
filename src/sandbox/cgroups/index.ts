export { detectCgroupLayout, readCgroupLayout } from './detect.ts';
export type {
  CgroupLayout,
  CgroupV1Layout,
  CgroupV1Mounts,
  CgroupV2Layout,
  DetectCgroupLayoutInput,
} from './detect.ts';
export {
  cpuPeriodUs,
  planCgroupLocation,
  planSessionCgroup,
  resolveCgroupParent,
  validateCgroupLimits,
  validateCgroupName,
} from './plan.ts';
export type {
  CgroupLimits,
  CgroupLocation,
  CgroupPlan,
  CgroupWrite,
  PlanSessionCgroupOptions,
  PlannedDir,
} from './plan.ts';
export { createCgroupManager } from './cgroup.ts';
export type { CgroupManager, CgroupManagerOptions } from './cgroup.ts';
export type { CgroupStats, SessionCgroup } from './session-cgroup.ts';
export type { CgroupFs } from './cgroup-fs.ts';
