export { CapturedStream, defaultCaptureLimits } from './captured-stream.ts';
export type { CaptureLimits } from './captured-stream.ts';
