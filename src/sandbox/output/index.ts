export { CapturedStream, defaultCaptureLimits } from './captured-stream.ts';
export { LiveOutput } from './live-output.ts';
export type { CaptureLimits } from './captured-stream.ts';
