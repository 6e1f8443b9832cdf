/**
 * The shape stage: what leaves the sandbox is redacted before anything stores or shows it, then cut to
 * the model's budget; live output of running commands is released in whole, redacted lines; and the
 * text a model reads back says what happened and what to do next.
 */
export { textForModel } from './for-model.ts';
export { LiveTail } from './live-tail.ts';
export { createRedactor, MIN_SECRET_LENGTH } from './redact.ts';
export type { Redactor } from './redact.ts';
export { redactBytes } from './redact-bytes.ts';
export { secretFileValues } from './secret-files.ts';
export type { FileSecret } from './secret-files.ts';
export { MIN_MAX_CHARS, shapeForModel } from './shape.ts';
export { shapeExecution, shapeLive } from './shape-execution.ts';
export type { ShapedOutput } from './shape-execution.ts';
export { TERMINAL_SETTLE_MS, watchOutput } from './watch.ts';
export type { CommandEvent, WatchOptions } from './watch.ts';
