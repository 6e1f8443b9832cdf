import type { Command } from 'commander';
import { constants } from 'node:os';
import { Option } from 'commander';
import { mergeSandboxOverrides, resolveConfig } from '../config/index.ts';
import type { AirlockConfig } from '../config/index.ts';
import { PolicyLoadError } from '../policy/index.ts';
import type { Policy } from '../policy/index.ts';
import { createDriver } from '../sandbox/index.ts';
import type { ExecResult, OutputSink, Sandbox } from '../sandbox/index.ts';
import type { CliContext, InterruptReason, OutputStream } from './context.ts';
import { choosePolicy, policyEngineFor, policyLoadFailure } from './policy-source.ts';

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
  policy?: string;
  config?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerExecCommand(program: Command, context: CliContext): void {
  program
    .command('exec')
    .description('Run one command in a fresh sandbox, stream its output, then destroy the sandbox.')
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
      '--policy <policy>',
      'preset (readonly, coding-agent, permissive) or a YAML policy file (default: the policy: section of airlock.yaml, else coding-agent)',
    )
    .option('--config <path>', 'airlock.yaml to use (default: ./airlock.yaml if present)')
    .addHelpText(
      'after',
      `
Limits come from the flags, else the sandbox: section of airlock.yaml, else safe defaults.
The policy judges the command before anything starts: "deny" is refused with the reasons;
"ask" is refused too, since airlock exec has no one to ask (run it through airlock serve, or
use a policy that allows it). --policy permissive runs any command, contained only by the sandbox.

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
  const config = mergeSandboxOverrides(resolved.config, {
    driver: flags.driver,
    image: flags.image,
    memory: flags.memory,
    cpus: flags.cpus,
    pids: flags.pids,
    scratch: flags.scratch,
    timeout: flags.timeout,
    env: flags.env,
  });
  return { config, home: resolved.environment.home, path: resolved.path };
}

async function runExec(command: string, flags: ExecFlags, context: CliContext): Promise<number> {
  const { stderr } = context;
  const { config, home, path } = await loadConfig(flags, context);
  if (!(await policyAllows(command, flags, context, config, path))) return execExitCodes.denied;

  const sandboxConfig = config.sandbox;
  if (sandboxConfig.network.allow.length > 0 || sandboxConfig.secrets.length > 0) {
    // Failing safe: the allow-list is not enforced yet, so the command gets no network at all.
    stderr.warn('sandbox.network allow-lists are not implemented yet; the command runs with no network');
  }
  const driver = createDriver(sandboxConfig.driver, {
    stateDir: home,
    // One command, one sandbox: a launcher started for a next sandbox would never be used.
    prespawnLauncher: false,
    uidRange: sandboxConfig.uidRange,
    ...(sandboxConfig.cgroupParent === undefined ? {} : { cgroupParent: sandboxConfig.cgroupParent }),
    ...(sandboxConfig.runtime === undefined ? {} : { runtime: sandboxConfig.runtime }),
  });
  // Listening before the sandbox exists: a Ctrl-C during start-up must still end in a clean
  // destroy, not in the default handler killing Airlock with a sandbox half made.
  const interrupted = new AbortController();
  let interruptReason: InterruptReason | undefined;
  const removeSignalHandlers = context.onInterrupt((reason) => {
    interruptReason ??= reason;
    interrupted.abort();
  });
  let sandbox: Sandbox;
  try {
    sandbox = await driver.create({
      image: sandboxConfig.image,
      memoryBytes: sandboxConfig.memoryBytes,
      cpus: sandboxConfig.cpus,
      pids: sandboxConfig.pids,
      scratchBytes: sandboxConfig.scratchBytes,
      env: { ...sandboxConfig.env },
      timeoutMs: sandboxConfig.timeoutMs,
    });
  } catch (error) {
    removeSignalHandlers();
    await driver.close();
    throw error;
  }
  let result: ExecResult;
  try {
    result = await sandbox.exec(command, {
      stdoutTo: sinkOf(context.stdout),
      stderrTo: sinkOf(context.stderr),
      signal: interrupted.signal,
    });
  } finally {
    removeSignalHandlers();
    await sandbox.destroy();
    await driver.close();
  }
  result.stdoutStream.discard();
  result.stderrStream.discard();

  if (result.timedOut) {
    stderr.error(
      `the command timed out after ${sandboxConfig.timeoutMs / 1000}s and was killed with its processes`,
    );
    return execExitCodes.timedOut;
  }
  if (result.oomKilled) {
    stderr.error(
      `the command ran out of memory (limit ${Math.round(sandboxConfig.memoryBytes / 1048576)} MiB) and was killed`,
    );
  }
  if (interruptReason === 'output-closed') return 128 + constants.signals.SIGPIPE;
  if (interruptReason === 'signal') {
    stderr.error('interrupted: the command and its processes were killed');
    return 130;
  }
  if (result.exitCode !== null) return result.exitCode;
  const signalNumber = result.signal ? signalNumberOf(result.signal) : 9;
  return 128 + signalNumber;
}

/** Judges the command before any sandbox exists; prints why when it may not run. */
async function policyAllows(
  command: string,
  flags: ExecFlags,
  context: CliContext,
  config: AirlockConfig,
  configPath: string | undefined,
): Promise<boolean> {
  let policy: Policy;
  try {
    policy = await choosePolicy(flags.policy, context.cwd, config, configPath);
  } catch (error) {
    if (!(error instanceof PolicyLoadError)) throw error;
    throw policyLoadFailure(error);
  }
  for (const warning of policy.warnings) context.stderr.warn(warning);
  const engine = await policyEngineFor(policy, true);
  const decision = engine.evaluate(command);
  if (decision.decision === 'allow') return true;
  const verdict =
    decision.decision === 'deny'
      ? 'the policy denies this command'
      : 'the policy requires a person to approve this command, and airlock exec has no approver';
  context.stderr.error(`${verdict} (policy ${decision.policy}):`);
  for (const reason of decision.reasons) context.stderr.write(`  - ${reason}\n`);
  return false;
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
