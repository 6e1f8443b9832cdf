// What every driver's sandbox sees: the host directories and /etc entries it may have, its own
// generated identity, the host-describing kernel files masked in it, and a command's environment.
export { generatedEtcFiles, sandboxHostname, sandboxUser } from './etc-files.ts';
export { readHostLayout, readImageLayout, readProcMasks, shellFor } from './host-layout.ts';
export type { HostEntry, HostLayout, ProcMask } from './host-layout.ts';
export { maskedProcPaths, maskedSysPaths } from './host-masks.ts';
export { commandEnvironment } from './command-environment.ts';
