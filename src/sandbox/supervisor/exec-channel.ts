/** What a command started through the supervisor talks to the host with: its output, and its input. */

export interface ExecHandlers {
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
}

/** A running command's stdin (or terminal), for a command started with `stdinStream` or `pty`. */
export interface ExecInput {
  /**
   * Sends bytes (at most MAX_INPUT_BYTES; empty: end of input), as one buffer or as pieces sent in
   * order without being joined. One at a time: resolves with how many the command's stdin took once
   * written (0 when it has ended or takes no input).
   */
  write(data: Buffer | readonly Buffer[]): Promise<number>;
  /** A terminal's new size. */
  resize(cols: number, rows: number): void;
}
