import { Command, CommanderError } from 'commander';

/** Builds the `airlock` command. Entry points own exit codes; this returns one instead of exiting. */
export function buildProgram(): Command {
  const program = new Command('airlock')
    .description('Run AI-agent shell commands behind policy, approval and an isolated sandbox.')
    .version('0.1.0')
    .exitOverride();
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
}
