/** Types of in-page.js: functions the browser tests run inside the page. */
export function tryToRunForeignScript(): Promise<{
  pwned: number | null;
  outcomes: string[];
  violations: string[];
}>;
export function decideFromPage(input: {
  approvalId: string;
  withCsrf: boolean;
}): Promise<{ status: number; code?: string; reason?: string }>;
export function fetchHeader(input: { path: string; header: string }): Promise<string | null>;
export function fetchText(path: string): Promise<string>;
export function watchResponsiveness(): void;
export interface Responsiveness {
  seconds: number;
  frames: number;
  p50FrameMs: number;
  p95FrameMs: number;
  maxFrameMs: number;
  longTasks: number;
  longTaskMs: number;
  maxLongTaskMs: number;
}
export function stopWatching(): Responsiveness;
export interface AxeFinding {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}
export function runAxe(): Promise<AxeFinding[]>;
export function sessionsShown(rows: number): number;
export function outputLines(): number;
