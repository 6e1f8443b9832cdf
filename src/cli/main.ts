import { Command, CommanderError } from 'commander';
import { isAirlockError } from '../errors/index.ts';
import { processContext } from './context.ts';
import type { CliContext } from './context.ts';
import { registerAgentCommand } from './agent-command.ts';
import { registerApprovalsCommand } from './approvals-command.ts';
import { registerAuditCommand } from './audit-command.ts';
import { registerCpCommand } from './cp-command.ts';
import { registerClusterCommand } from './cluster-command.ts';
import { execExitCodes, exitCodeForError, registerExecCommand } from './exec-command.ts';
import { registerImageCommand } from './image-command.ts';
import { registerMcpCommand } from './mcp-command.ts';
import { registerPolicyCommand } from './policy-command.ts';
import { registerServeCommand } from './serve-command.ts';
import { registerShellCommand } from './shell-command.ts';
import { registerSessionsCommand } from './sessions-command.ts';
import { registerStoreCommand } from './store-command.ts';
import { registerTokensCommand } from './tokens-command.ts';

/** Builds the `airlock` command. Entry points own exit codes; this returns one instead of exiting. */
export function buildProgram(context: CliContext): Command {
  const program = new Command('airlock')
    .description('Run AI-agent shell commands behind policy, approval and an isolated sandbox.')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
    });
  registerExecCommand(program, context);
  registerPolicyCommand(program, context);
  registerApprovalsCommand(program, context);
  registerAuditCommand(program, context);
  registerSessionsCommand(program, context);
  registerCpCommand(program, context);
  registerShellCommand(program, context);
  registerStoreCommand(program, context);
  registerClusterCommand(program, context);
  registerTokensCommand(program, context);
  registerImageCommand(program, context);
  registerMcpCommand(program, context);
  registerAgentCommand(program, context);
  registerServeCommand(program, context);
  return program;
}

export async function run(
  argv: readonly string[],
  context: CliContext,
  getExitCode: () => number,
): Promise<number> {
  const program = buildProgram(context);
  try {
    await program.parseAsync([...argv]);
    return getExitCode();
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander reports a bad flag or argument with status 1, which scripts would read as the
      // command's own failure; Airlock's contract is 2 for usage errors (help and version stay 0).
      return error.exitCode === 0 ? 0 : execExitCodes.usage;
    }
    if (isAirlockError(error)) {
      context.stderr.error(error.message);
      return exitCodeForError(error.code);
    }
    throw error;
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const context = processContext((code) => {
    exitCode = code;
  });
  return run(argv, context, () => exitCode);
}
