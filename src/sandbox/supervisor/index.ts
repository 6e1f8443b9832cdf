// The host side of the in-sandbox supervisor every driver runs: its protocol client, the sandbox
// built on it, and the checks around starting it.
export { assertBridge } from './bridge-check.ts';
export { SupervisorClient } from './client.ts';
export type { ExecInput } from './exec-channel.ts';
export { MAX_INPUT_BYTES } from './protocol.ts';
export {
  defaultHelperPath,
  helperMissingMessage,
  isExecutable,
  publishHelperForSessions,
} from './helper-binary.ts';
export { MAX_PROC_ENTRIES, countSandboxProcesses } from './process-count.ts';
export { processIsolation, readYamaPtraceScope } from './process-isolation.ts';
export type { FileEntry, SupervisorFacts } from './reply-decoder.ts';
export { withinStartTimeout } from './start-timeout.ts';
export { SupervisedSandbox } from './supervised-sandbox.ts';
export type { SupervisedSandboxParts, SupervisedUsage } from './supervised-sandbox.ts';
