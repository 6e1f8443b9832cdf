/**
 * A command's output as it streams: bounded lines in memory, handed to the page at most once a frame.
 * An agent can print thousands of lines a second; the page must keep answering, so text is batched
 * and the oldest lines are dropped past a bound (the full output stays pageable on the server).
 */

export type OutputStreamName = 'stdout' | 'stderr';

export interface LogChunk {
  readonly stream: OutputStreamName;
  readonly text: string;
  /** Line breaks in `text`, for trimming without re-reading it. */
  readonly lines: number;
}

/** Lines kept for search and redraws; past it the oldest go (and the view says how many). */
export const MAX_KEPT_LINES = 20_000;

function countLines(text: string): number {
  let count = 0;
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) count++;
  return count;
}

export class LogModel {
  readonly #chunks: LogChunk[] = [];
  #pending: LogChunk[] = [];
  #lines = 0;
  #dropped = 0;
  readonly #listeners = new Set<() => void>();
  #scheduled = false;
  readonly #schedule: (flush: () => void) => void;

  constructor(schedule: (flush: () => void) => void = (flush) => requestAnimationFrame(flush)) {
    this.#schedule = schedule;
  }

  get droppedLines(): number {
    return this.#dropped;
  }

  get lineCount(): number {
    return this.#lines;
  }

  append(stream: OutputStreamName, text: string): void {
    if (text === '') return;
    const chunk = { stream, text, lines: countLines(text) };
    this.#chunks.push(chunk);
    this.#pending.push(chunk);
    this.#lines += chunk.lines;
    while (this.#lines > MAX_KEPT_LINES && this.#chunks.length > 1) {
      const oldest = this.#chunks.shift();
      this.#lines -= oldest?.lines ?? 0;
      this.#dropped += oldest?.lines ?? 0;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(() => {
        this.#scheduled = false;
        for (const listener of this.#listeners) listener();
      });
    }
  }

  /** What arrived since the last call, merged per stream so the page adds few nodes per frame. */
  takePending(): LogChunk[] {
    const merged: LogChunk[] = [];
    for (const chunk of this.#pending) {
      const last = merged.at(-1);
      if (last !== undefined && last.stream === chunk.stream) {
        merged[merged.length - 1] = {
          stream: last.stream,
          text: last.text + chunk.text,
          lines: last.lines + chunk.lines,
        };
      } else {
        merged.push(chunk);
      }
    }
    this.#pending = [];
    return merged;
  }

  /** Every kept chunk, for a redraw (a new filter, a view opened late). */
  all(): readonly LogChunk[] {
    this.#pending = [];
    return this.#chunks;
  }

  /** Kept lines containing `needle` (case-insensitive), at most `limit`, in order. */
  matching(needle: string, limit: number): { readonly stream: OutputStreamName; readonly line: string }[] {
    const lower = needle.toLowerCase();
    const found: { stream: OutputStreamName; line: string }[] = [];
    for (const chunk of this.#chunks) {
      for (const line of chunk.text.split('\n')) {
        if (line.toLowerCase().includes(lower)) {
          found.push({ stream: chunk.stream, line });
          if (found.length >= limit) return found;
        }
      }
    }
    return found;
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
