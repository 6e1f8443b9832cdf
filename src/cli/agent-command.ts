/**
 * `airlock agent run`: a task run to completion by a model through this machine's control plane (the
 * same pipeline every surface uses), with a live transcript and a summary, or JSON lines.
 */
import type { Command } from 'commander';
import type { AgentEvent, AgentRunOptions, AgentSummary } from '../agent/index.ts';
import { createAirlock } from '../airlock/index.ts';
import type { Airlock } from '../airlock/index.ts';
import { AirlockError } from '../errors/index.ts';
import { createTranscript, summaryLine } from './agent-transcript.ts';
import { loadAgentSetup } from './agent-setup.ts';
import type { AgentFlags } from './agent-setup.ts';
import type { CliContext } from './context.ts';
import { exitCodeForError } from './exec-command.ts';
import { interruptExitCodes, lineWriter, listenForInterrupts, paintFor } from './terminal.ts';

/** Exit statuses of `airlock agent run` (also in its --help). */
export const agentExitCodes = {
  completed: 0,
  failed: 1,
  usage: 2,
  budget: 3,
} as const;

export function registerAgentCommand(program: Command, context: CliContext): void {
  const agent = program.command('agent').description('Give a task to a model that works through Airlock.');
  agent
    .command('run')
    .description('Run a task to completion with a model, every command through the policy and a sandbox.')
    .argument('<task>', 'what the model should do, as one argument')
    .option('--model <model>', 'openai:NAME, anthropic:NAME, or a bare name for an OpenAI-compatible server')
    .option('--base-url <url>', 'the model server, e.g. http://127.0.0.1:8080/v1 (llama.cpp, vLLM, Ollama)')
    .option('--policy <policy>', 'preset (readonly, coding-agent, permissive) or a YAML policy file')
    .option('--workspace <dir>', "copy this directory into the session's /workspace first")
    .option('--write-back', 'copy the changed files back to --workspace afterwards (after export checks)')
    .option('--max-steps <n>', 'model calls at most (default agent.maxSteps, 50)')
    .option(
      '--budget-tokens <n>',
      'tokens in and out at most, every call summed (default agent.budgetTokens)',
    )
    .option('--context-tokens <n>', 'what one call may carry; older tool results are elided past it')
    .option(
      '--pipeline <file>',
      "a pipeline file in the design's shape (inference, command_router, sandbox_executor)",
    )
    .option('--record-prompts', "put the task and each call's messages (redacted) in the audit log")
    .option('--json', 'the transcript as JSON lines, one event each (text deltas left out)')
    .option('--config <path>', 'airlock.yaml to use (default: ./airlock.yaml if present)')
    .addHelpText(
      'after',
      `
The key comes from OPENAI_API_KEY or ANTHROPIC_API_KEY (a local server given with --base-url needs
none); it is redacted everywhere and never enters the sandbox. Every command the model proposes goes
through the policy, approvals, the rate limit and a fresh sandbox, and is recorded in the audit log
with the run's model calls (airlock audit tail --session <id>). A command that needs a person waits
in airlock approvals ls; the model is told and keeps working meanwhile.

Exit status: 0 when the model finished; 1 when the model provider failed; 3 when the step limit or
the token budget ended the run; 2 for a bad flag or config; 125 when the sandbox could not be set up;
130 on Ctrl-C; 141 when the reader of stdout went away.
`,
    )
    .action(async (task: string, flags: AgentFlags) => {
      context.setExitCode(await runAgentCommand(task, flags, context));
    });
}

function exitCodeFor(summary: AgentSummary | undefined): number {
  switch (summary?.status) {
    case 'completed':
      return agentExitCodes.completed;
    case 'failed':
      return agentExitCodes.failed;
    case 'max_steps':
    case 'budget_exhausted':
      return agentExitCodes.budget;
    case 'aborted':
    case undefined:
      return interruptExitCodes.signal;
  }
}

async function runAgentCommand(task: string, flags: AgentFlags, context: CliContext): Promise<number> {
  const setup = await loadAgentSetup(task, flags, context);
  const interrupts = listenForInterrupts(context);
  const write = lineWriter(context.stdout, interrupts.signal);
  const paint = paintFor(context.stdout, context.env);
  const show = flags.json === true ? jsonLines(write) : textTranscript(write, paint);
  let airlock: Airlock | undefined;
  let summary: AgentSummary | undefined;
  try {
    airlock = await createAirlock(setup.airlock);
    const options: AgentRunOptions = { ...setup.run, signal: interrupts.signal };
    const run = airlock.agents.run(options);
    for (;;) {
      const next = await run.next();
      if (next.done === true) {
        summary = next.value;
        break;
      }
      await show(next.value);
    }
  } catch (error) {
    if (error instanceof AirlockError) {
      context.stderr.error(error.message);
      return exitCodeForError(error.code);
    }
    throw error;
  } finally {
    interrupts.dispose();
    await airlock?.close();
  }
  const reason = interrupts.reason();
  if (reason === 'signal' && summary !== undefined) {
    // The transcript stopped at Ctrl-C; the person still learns what the run did before it.
    context.stderr.error(`interrupted: ${summaryLine(summary)}`);
  }
  if (reason !== undefined) return interruptExitCodes[reason];
  return exitCodeFor(summary);
}

function jsonLines(write: (text: string) => Promise<boolean>): (event: AgentEvent) => Promise<void> {
  return async (event) => {
    // The whole text is in model_response; deltas would only repeat it a piece at a time.
    if (event.type === 'model_text') return;
    await write(`${JSON.stringify(event)}\n`);
  };
}

function textTranscript(
  write: (text: string) => Promise<boolean>,
  paint: ReturnType<typeof paintFor>,
): (event: AgentEvent) => Promise<void> {
  let pending: Promise<boolean> = Promise.resolve(true);
  const transcript = createTranscript((text) => {
    pending = pending.then(() => write(text));
  }, paint);
  return async (event) => {
    transcript(event);
    await pending;
  };
}
