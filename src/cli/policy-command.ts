import type { Command } from 'commander';
import { Option } from 'commander';
import { createInterface } from 'node:readline';
import { resolveConfig } from '../config/index.ts';
import { PolicyLoadError, renderDecision, type Decision, type PolicyEngine } from '../policy/index.ts';
import type { CliContext } from './context.ts';
import { choosePolicy, policyEngineFor, policyLoadFailure } from './policy-source.ts';
import {
  hookAnswer,
  hookFormats,
  judgeToolCall,
  MAX_HOOK_INPUT_BYTES,
  parseHookPayload,
  type HookFormat,
} from './policy-hook.ts';

/** Exit status of `airlock policy hook` when the input is not a tool call: the agents block the call. */
export const HOOK_BLOCK_EXIT = 2;

async function readAll(stream: NodeJS.ReadableStream, limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > limit) return null;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Exit statuses of `airlock policy check` (also in its --help). */
export const policyExitCodes = {
  allow: 0,
  usage: 2,
  ask: 10,
  deny: 11,
} as const;

interface PolicyFlags {
  policy?: string;
  json?: boolean;
  batch?: boolean;
  crossCheck: boolean;
}

async function buildEngine(flags: PolicyFlags, context: CliContext): Promise<PolicyEngine | null> {
  try {
    const resolved = await resolveConfig({ cwd: context.cwd, env: context.env });
    const policy = await choosePolicy(flags.policy, context.cwd, resolved.config, resolved.path);
    for (const warning of policy.warnings) context.stderr.warn(warning);
    return await policyEngineFor(policy, flags.crossCheck);
  } catch (error) {
    if (!(error instanceof PolicyLoadError)) throw error;
    const failure = policyLoadFailure(error);
    if (flags.json || flags.batch) context.stdout.write(`${JSON.stringify({ error: failure.toJSON() })}\n`);
    context.stderr.error(failure.message);
    context.setExitCode(policyExitCodes.usage);
    return null;
  }
}

function toJson(command: string, decision: Decision): Record<string, unknown> {
  return {
    cmd: command,
    decision: decision.decision,
    reasons: decision.reasons,
    ruleIds: decision.ruleIds,
    commands: decision.commands.map((c) => ({
      command: c.command,
      decision: c.decision,
      ruleIds: c.ruleIds,
      reasons: c.reasons,
      span: c.span,
    })),
    hazards: decision.hazards.map((h) => ({
      detail: h.summary,
      decision: h.decision,
      ruleId: h.ruleId,
      span: h.span,
    })),
    policy: decision.policy,
    crossChecked: decision.crossChecked,
  };
}

async function runBatch(engine: PolicyEngine, context: CliContext): Promise<void> {
  const lines = createInterface({ input: context.stdin, crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    let input: unknown;
    try {
      input = JSON.parse(line);
    } catch (error) {
      context.stdout.write(
        `${JSON.stringify(batchError(lineNumber, `not JSON: ${(error as Error).message}`))}\n`,
      );
      continue;
    }
    const cmd =
      typeof input === 'object' && input !== null ? (input as Record<string, unknown>)['cmd'] : undefined;
    if (typeof cmd !== 'string') {
      context.stdout.write(
        `${JSON.stringify(batchError(lineNumber, 'expected an object with a string "cmd"'))}\n`,
      );
      continue;
    }
    context.stdout.write(`${JSON.stringify(toJson(cmd, engine.evaluate(cmd)))}\n`);
  }
}

function batchError(line: number, message: string): Record<string, unknown> {
  return { line, cmd: null, decision: null, reasons: [], error: { code: 'INVALID_ARGUMENT', message } };
}

function addCommonOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--policy <policy>',
        'preset (readonly, coding-agent, permissive) or a YAML policy file (default: the policy: section of airlock.yaml, else coding-agent)',
      ),
    )
    .option('--no-cross-check', 'skip the tree-sitter-bash cross-check (unbash alone judges)');
}

export function registerPolicyCommand(program: Command, context: CliContext): void {
  const policy = program
    .command('policy')
    .description('Judge shell commands with a policy, without running them.');

  addCommonOptions(
    policy
      .command('check')
      .description('Print the policy decision for a command (allow, ask or deny) and the reasons.')
      .argument('[command]', "the shell command, as one argument: airlock policy check -- 'git status'")
      .option('--json', 'print the decision as JSON')
      .option('--batch', 'read JSON lines {"cmd": "..."} on stdin; write one JSON line per input'),
  )
    .addHelpText(
      'after',
      `
Exit status: 0 allow, ${policyExitCodes.ask} ask, ${policyExitCodes.deny} deny, ${policyExitCodes.usage} for a bad flag or an invalid policy.
With --batch the status is 0 once every line is answered (each line carries its own decision;
a malformed line gets a line with "error" and "decision": null).
`,
    )
    .action(async (command: string | undefined, flags: PolicyFlags) => {
      const engine = await buildEngine(flags, context);
      if (!engine) return;
      if (flags.batch) {
        await runBatch(engine, context);
        return;
      }
      if (command === undefined) {
        context.stderr.error('policy check needs a command (or --batch)');
        context.setExitCode(policyExitCodes.usage);
        return;
      }
      const decision = engine.evaluate(command);
      if (flags.json) context.stdout.write(`${JSON.stringify(toJson(command, decision))}\n`);
      else {
        context.stdout.write(`${decision.decision}\n`);
        if (decision.decision !== 'allow')
          for (const reason of decision.reasons) context.stdout.write(`  - ${reason}\n`);
      }
      context.setExitCode(policyExitCodes[decision.decision]);
    });

  addCommonOptions(
    policy
      .command('hook')
      .description(
        "Answer an agent's pre-tool-use hook: read its JSON on stdin, judge the tool call, answer in its format.",
      )
      .addOption(
        new Option('--format <format>', 'the agent').choices([...hookFormats]).makeOptionMandatory(),
      ),
  )
    .addHelpText(
      'after',
      `
Claude Code (.claude/settings.json):  {"hooks": {"PreToolUse": [{"matcher": "Bash|Write|Edit|MultiEdit",
  "hooks": [{"type": "command", "command": "/path/to/airlock/bin/airlock.js policy hook --format claude-code"}]}]}}
Exit status: 0 with the answer on stdout; ${HOOK_BLOCK_EXIT} (the agent blocks the call) when the input is not a tool call.
`,
    )
    .action(async (flags: PolicyFlags & { format: HookFormat }) => {
      const raw = await readAll(context.stdin, MAX_HOOK_INPUT_BYTES);
      if (raw === null) {
        context.stderr.error(`the hook input is over ${MAX_HOOK_INPUT_BYTES} bytes`);
        context.setExitCode(HOOK_BLOCK_EXIT);
        return;
      }
      const parsed = parseHookPayload(raw);
      if ('error' in parsed) {
        context.stderr.error(parsed.error);
        context.setExitCode(HOOK_BLOCK_EXIT);
        return;
      }
      const engine = await buildEngine({ ...flags, json: false, batch: false }, context);
      if (!engine) {
        context.setExitCode(HOOK_BLOCK_EXIT);
        return;
      }
      const cwd = parsed.payload.cwd ?? context.cwd;
      const verdict = judgeToolCall(engine, parsed.payload, cwd, context.env['HOME']);
      const answer = hookAnswer(flags.format, verdict);
      if (answer !== null) context.stdout.write(`${JSON.stringify(answer)}\n`);
      context.setExitCode(0);
    });

  addCommonOptions(
    policy
      .command('explain')
      .description(
        'Show how the policy reads a command: the parsed commands, each effect, its rule and decision.',
      )
      .argument('<command>', "the shell command, as one argument: airlock policy explain -- 'git status'"),
  ).action(async (command: string, flags: PolicyFlags) => {
    const engine = await buildEngine(flags, context);
    if (!engine) return;
    context.stdout.write(`${renderDecision(engine.evaluate(command))}\n`);
  });
}
