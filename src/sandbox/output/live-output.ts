import type { OutputSink } from '../types.ts';

/**
 * Forwards a command's output to live sinks (a terminal, an HTTP stream) with backpressure: when a
 * sink's `write` returns false, reading from the sandbox pauses until it drains, so a slow consumer
 * slows the command instead of growing a buffer here.
 */
export class LiveOutput {
  readonly #pauseSource: () => () => void;
  readonly #pauses = new Set<() => void>();
  #forwarding = true;

  /** `pauseSource` pauses reading from the sandbox and returns the matching resume. */
  constructor(pauseSource: () => () => void) {
    this.#pauseSource = pauseSource;
  }

  forward(sink: OutputSink | undefined, chunk: Buffer): void {
    if (!sink || !this.#forwarding || sink.write(chunk)) return;
    const resume = this.#pauseSource();
    this.#pauses.add(resume);
    sink.once('drain', () => {
      this.#pauses.delete(resume);
      resume();
    });
  }

  /**
   * Stops forwarding and releases every pause. Whoever stops it (often because the consumer went
   * away) wants no more live output; a sink that broke never drains, and the exit report behind
   * the pause must still get through.
   */
  stop(): void {
    this.#forwarding = false;
    for (const resume of this.#pauses) resume();
    this.#pauses.clear();
  }
}
