/**
 * File descriptors the launcher is started with, fixed so a launcher can be started before anyone
 * knows which sandbox it will become. 3 carries the launcher's instructions (the bwrap argv).
 */
export const launcherFds = {
  instructions: 3,
  firstEtcFile: 4,
} as const;

/** Extra file descriptors the child gets: fd number → bytes to feed it, or a host file to open. */
export type FdSource =
  | { kind: 'data'; data: Buffer }
  | { kind: 'file'; path: string }
  | { kind: 'instructions' };

export interface LauncherPlan {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  fds: { fd: number; source: FdSource }[];
}

/** Frames the argv for the launcher's instructions fd: u32 length, NUL-terminated strings. */
export function encodeInstructions(argv: readonly string[]): Buffer {
  for (const arg of argv) {
    if (arg.includes('\0'))
      throw new RangeError(`launcher argument contains a NUL byte: ${JSON.stringify(arg)}`);
  }
  const body = Buffer.from(argv.map((arg) => `${arg}\0`).join(''), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length, 0);
  return Buffer.concat([length, body]);
}
