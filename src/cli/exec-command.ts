import type { Command } from 'commander';
import { constants } from 'node:os';
import { Option } from 'commander';
import { createAirlock } from '../airlock/index.ts';
import type { Airlock } from '../airlock/index.ts';
import { mergeNetworkOverrides, mergeSandboxOverrides, resolveConfig } from '../config/index.ts';
import type { AirlockConfig } from '../config/index.ts';
import type { ErrorCode } from '../errors/index.ts';
import { PolicyLoadError } from '../policy/index.ts';
import type { Policy } from '../policy/index.ts';
import type { RunResult } from '../router/index.ts';
import type { OutputSink } from '../sandbox/index.ts';
import type { CliContext, InterruptReason, OutputStream } from './context.ts';
import { choosePolicy, policyLoadFailure } from './policy-source.ts';

/** Exit statuses of `airlock exec` besides the command's own (documented in --help). */
export const execExitCodes = {
  usage: 2,
  timedOut: 124,
  unavailable: 125,
  denied: 126,
} as const;

interface ExecFlags {
  driver?: string;
  image?: string;
  memory?: string;
  cpus?: string;
  pids?: string;
  scratch?: string;
  timeout?: string;
  env: string[];
  allowHost: string[];
  secret: string[];
  policy?: string;
  config?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerExecCommand(program: Command, context: CliContext): void {
  program
    .command('exec')
    .description(
      'Run one command in a fresh session (a sandbox of its own), stream its output, then end the session.',
    )
    .argument('<command>', "the shell command, as one argument: airlock exec -- 'make test'")
    .addOption(new Option('--driver <driver>', 'sandbox driver').choices(['bwrap', 'gvisor', 'docker']))
    .option('--image <image>', '"host" (host system dirs, read-only) or a rootfs directory')
    .option('--memory <size>', 'memory limit, e.g. 256m')
    .option('--cpus <n>', 'CPU quota in cores, e.g. 0.5')
    .option('--pids <n>', 'maximum number of processes')
    .option('--scratch <size>', 'size of the writable /tmp and /workspace, e.g. 64m')
    .option('--timeout <duration>', 'command timeout, e.g. 10s')
    .option('--env <NAME=value>', 'environment variable for the command (repeatable)', collect, [])
    .option(
      '--allow-host <host[:port]>',
      'a host the command may reach through the egress proxy, like api.example.test or registry:npm (repeatable)',
      collect,
      [],
    )
    .option(
      '--secret <NAME[=ENV]@HOST>',
      "give the command a placeholder for NAME, swapped for the value of ENV (default NAME) in Airlock's environment on requests to HOST only (repeatable)",
      collect,
      [],
    )
    .option(
      '--policy <policy>',
      'preset (readonly, coding-agent, permissive) or a YAML policy file (default: the policy: section of airlock.yaml, else coding-agent)',
    )
    .option('--config <path>', 'airlock.yaml to use (default: ./airlock.yaml if present)')
    .addHelpText(
      'after',
      `
Limits come from the flags, else the sandbox: section of airlock.yaml, else safe defaults.
The command goes through the same pipeline as every other surface, and is recorded in the audit
log under AIRLOCK_HOME (see airlock audit). The policy judges it before it runs: "deny" is
refused with the reasons; "ask" is refused too, since airlock exec has no one to ask (run it
through airlock serve, or use a policy that allows it); router.approvalRequiredFor counts as ask.
--policy permissive runs any command, contained only by the sandbox.

The network is sandbox.network of airlock.yaml plus --allow-host; with no one to ask, a host off
the list is refused at once (the egress proxy answers 403 with the reason). --secret values never
enter the sandbox: the command sees a placeholder, which the proxy swaps for the value on requests
to HOST.

Exit status: the command's own; 124 when it timed out; 126 when the policy refused it;
128+N when it was killed by signal N (137 on an out-of-memory kill); 2 for a bad flag or
config; 125 when the sandbox could not be set up with every protection.
`,
    )
    .action(async (command: string, flags: ExecFlags) => {
      context.setExitCode(await runExec(command, flags, context));
    });
}

async function loadConfig(
  flags: ExecFlags,
  context: CliContext,
): Promise<{ config: AirlockConfig; home: string; path: string | undefined }> {
  const resolved = await resolveConfig({ cwd: context.cwd, env: context.env, explicitPath: flags.config });
  const sandboxed = mergeSandboxOverrides(resolved.config, {
    driver: flags.driver,
    image: flags.image,
    memory: flags.memory,
    cpus: flags.cpus,
    pids: flags.pids,
    scratch: flags.scratch,
    timeout: flags.timeout,
    env: flags.env,
  });
  const config = mergeNetworkOverrides(sandboxed, {
    allowHosts: flags.allowHost,
    secrets: flags.secret,
    // One command, no one to ask: a host off the list is refused at once, never waited on.
    noApprover: true,
  });
  return { config, home: resolved.environment.home, path: resolved.path };
}

/** Failures of Airlock itself (not of the command) map to statuses a script can tell apart. */
export function exitCodeForError(code: ErrorCode | string): number {
  switch (code) {
    case 'INVALID_ARGUMENT':
    case 'INVALID_CONFIG':
    case 'POLICY_INVALID':
      return execExitCodes.usage;
    default:
      return execExitCodes.unavailable;
  }
}

/** The policy from --policy or airlock.yaml, its warnings printed (permissive says it contains nothing). */
async function execPolicy(
  flags: ExecFlags,
  context: CliContext,
  config: AirlockConfig,
  configPath: string | undefined,
): Promise<Policy> {
  let policy: Policy;
  try {
    policy = await choosePolicy(flags.policy, context.cwd, config, configPath);
  } catch (error) {
    if (!(error instanceof PolicyLoadError)) throw error;
    throw policyLoadFailure(error);
  }
  for (const warning of policy.warnings) context.stderr.warn(warning);
  return policy;
}

/**
 * One command through the control plane, like any other surface: a fresh session, the router (policy,
 * approval, rate limit, sandbox, shaping) and the store under AIRLOCK_HOME, so it is audited. The
 * terminal gets the command's own bytes as they come; the audit log gets them redacted.
 */
async function runExec(command: string, flags: ExecFlags, context: CliContext): Promise<number> {
  const { config, home, path } = await loadConfig(flags, context);
  const policy = await execPolicy(flags, context, config, path);
  // Listening before the sandbox exists: a Ctrl-C during start-up must still end in a clean
  // destroy, not in the default handler killing Airlock with a sandbox half made.
  const interrupted = new AbortController();
  let interruptReason: InterruptReason | undefined;
  const removeSignalHandlers = context.onInterrupt((reason) => {
    interruptReason ??= reason;
    interrupted.abort();
  });
  let airlock: Airlock | undefined;
  let result: RunResult | null = null;
  try {
    airlock = await createAirlock({
      config,
      policy,
      env: context.env,
      home,
      cwd: context.cwd,
      // One command, one sandbox: a launcher started for a next sandbox would never be used.
      driverOptions: { prespawnLauncher: false },
    });
    const session = await airlock.sessions.create();
    if (!interrupted.signal.aborted) {
      result = await session.run(command, {
        noApprover: true,
        signal: interrupted.signal,
        rawOutputTo: { stdout: sinkOf(context.stdout), stderr: sinkOf(context.stderr) },
      });
    }
  } finally {
    removeSignalHandlers();
    await airlock?.close();
  }
  return exitStatus(result, interruptReason, config, context, policy);
}

/** The command's own status, or Airlock's reason it has none (denied, timed out, interrupted…). */
function exitStatus(
  result: RunResult | null,
  interruptReason: InterruptReason | undefined,
  config: AirlockConfig,
  context: CliContext,
  policy: Policy,
): number {
  const { stderr } = context;
  if (interruptReason === 'output-closed') return 128 + constants.signals.SIGPIPE;
  if (result === null || interruptReason === 'signal') {
    stderr.error('interrupted: the command and its processes were killed');
    return 130;
  }
  switch (result.status) {
    case 'denied': {
      const verdict =
        result.decision === 'deny'
          ? 'the policy denies this command'
          : 'the policy requires a person to approve this command, and airlock exec has no approver';
      stderr.error(`${verdict} (policy ${policy.origin}):`);
      for (const reason of result.reasons) stderr.write(`  - ${reason}\n`);
      return execExitCodes.denied;
    }
    case 'timed_out':
      stderr.error(
        `the command timed out after ${config.sandbox.timeoutMs / 1000}s and was killed with its processes`,
      );
      return execExitCodes.timedOut;
    case 'failed':
    case 'rate_limited':
    case 'pending_approval':
    case 'running':
      stderr.error(`the command did not run: ${result.error?.message ?? result.forModel}`);
      return exitCodeForError(result.error?.code ?? 'SANDBOX_UNAVAILABLE');
    case 'completed':
    case 'killed':
      break;
  }
  // The proxy's 403 reached the command, which may not show it: the person at the terminal sees why.
  for (const refused of result.refusedHosts) {
    const message = refused.message.replace(/^airlock: /, '');
    stderr.error(`${message}${refused.count > 1 ? ` (${refused.count} times)` : ''}`);
  }
  if (result.oomKilled) {
    stderr.error(
      `the command ran out of memory (limit ${Math.round(config.sandbox.memoryBytes / 1048576)} MiB) and was killed`,
    );
  }
  if (result.exitCode !== null) return result.exitCode;
  const signalNumber = result.signal ? signalNumberOf(result.signal) : 9;
  return 128 + signalNumber;
}

/** A terminal or pipe that fills up pauses the command instead of growing a buffer here. */
function sinkOf(stream: OutputStream): OutputSink {
  return {
    write: (chunk) => stream.write(chunk) !== false,
    once: (event, listener) => (stream.once ? stream.once(event, listener) : listener()),
  };
}

function signalNumberOf(name: string): number {
  return (constants.signals as Record<string, number | undefined>)[name] ?? constants.signals.SIGKILL;
}
