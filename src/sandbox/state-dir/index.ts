// The host directory each driver keeps per-sandbox state in, and the names that tell a live control
// plane's sessions from a crashed one's.
export { ensurePrivateDir, isStale, sessionName, sweepStaleDirs } from './state-dir.ts';
