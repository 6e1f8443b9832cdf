/**
 * The in-memory driver: a test double of the sandbox interfaces for fast unit tests of sessions, the
 * router and the surfaces. It runs nothing on the host and contains nothing.
 */
export { createMemoryDriver, MemorySandbox } from './memory-sandbox.ts';
export type { MemoryDriver, MemoryDriverOptions } from './memory-sandbox.ts';
