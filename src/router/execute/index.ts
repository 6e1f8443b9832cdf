/** The execute stage: commands and file copies, each one call into the session's sandbox. */
export { executeCommand } from './command.ts';
export type { ExecuteOptions, ExecuteOutcome } from './command.ts';
export { listInSandbox, readFromSandbox, refusePlantedLink, writeInSandbox } from './files.ts';
