// The launcher process bwrap and gVisor sessions start from: inside the session's cgroups, waiting
// on its instructions fd for what to become.
export { spawnLauncher } from './launcher.ts';
export type { Launcher } from './launcher.ts';
export { encodeInstructions, launcherFds } from './launcher-plan.ts';
export type { FdSource, LauncherPlan } from './launcher-plan.ts';
export { createSpareLauncher, parkedLimits } from './spare.ts';
export type { ParkedLauncher, SpareLauncher } from './spare.ts';
