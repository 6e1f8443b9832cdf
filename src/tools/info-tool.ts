/**
 * session_info: what the model's environment allows, so it can plan instead of discovering limits
 * by hitting them.
 */
import { z } from 'zod';
import type { SessionBoundary } from '../airlock/index.ts';
import { formatByteSize, formatDuration } from '../config/index.ts';
import { INHERITED_PATH_PATTERNS, SECRET_PATH_PATTERNS } from '../policy/index.ts';
import type { ToolRegistrar } from './registrar.ts';
import type { ToolContext } from './tool-context.ts';
import { okResult } from './tool-results.ts';
import { toolLimits } from './command-tools.ts';
import type { ProcessIsolation } from '../sandbox/index.ts';

/** What keeps commands from the channel to Airlock and from each other, in a line for the model. */
function processesLine(processes: ProcessIsolation | undefined): string {
  if (processes === undefined) return 'process isolation: not reported by this sandbox';
  const parts = [
    processes.hostUid === null
      ? 'processes are not host processes (gVisor)'
      : `host uid ${processes.hostUid}`,
    processes.supervisorIsPid1
      ? 'the supervisor is pid 1 (commands cannot signal it)'
      : 'the supervisor is not pid 1',
    processes.separateUid
      ? 'commands run as another uid than the supervisor'
      : "commands share the supervisor's uid",
    processes.landlockAbi === null
      ? 'no Landlock'
      : `Landlock ABI ${processes.landlockAbi}: a command can trace or read the memory of its own processes only`,
    processes.yamaPtraceScope === null
      ? 'Yama: not active'
      : `Yama ptrace_scope ${processes.yamaPtraceScope}`,
  ];
  return `process isolation: ${parts.join('; ')}`;
}

/** What will ask in this session, in lines for the model. */
function boundaryLines(boundary: SessionBoundary | null): string[] {
  if (boundary === null) return ['what will ask: unknown (the session has ended)'];
  const { network, secrets, granted } = boundary;
  const wait = `a call waits ${formatDuration(boundary.approvalWaitMs)} for a person, then answers pending_approval (it still runs once approved; undecided after ${formatDuration(boundary.approvalTimeoutMs)} means denied)`;
  return [
    network.mode === 'none'
      ? "network: none beyond the sandbox's own loopback (localhost servers work; nothing can be downloaded, and nobody can grant a host here)"
      : `network: ${network.mode}; reachable: ${network.allow.length === 0 ? 'nothing yet' : network.allow.join(', ')}` +
        (network.mode === 'ask' ? '; any other host asks a person' : '; any other host is refused'),
    secrets.envNames.length + secrets.files.length === 0
      ? 'secrets given to this session: none'
      : `secrets given to this session (reading them asks; their values are redacted): ${[
          ...secrets.envNames.map((name) => `$${name}`),
          ...secrets.files,
        ].join(', ')}`,
    'always refused: credential stores (.env, keys, ~/.ssh…), agent and editor configuration, git hooks, reverse shells',
    'asks a person: changes to build scripts, package manifests and CI workflows (a person inherits them), publishing (git push, npm publish)',
    boundary.approvalRequiredFor.length === 0
      ? 'router.approvalRequiredFor: nothing more needs approval than the policy asks'
      : `a person approves ${boundary.approvalRequiredFor.join(', ')} (router.approvalRequiredFor), even where the policy allows`,
    boundary.reviewer === null
      ? `approvals: a person decides; ${wait}`
      : `approvals: reviewer ${boundary.reviewer} first, then a person; ${wait}`,
    granted.commands + granted.programs.length + granted.hosts.length === 0
      ? 'granted for this session: nothing yet'
      : `granted for this session: ${granted.commands} exact command(s)` +
        `${granted.programs.length === 0 ? '' : `, programs ${granted.programs.join(', ')}`}` +
        `${granted.hosts.length === 0 ? '' : `, hosts ${granted.hosts.join(', ')}`}`,
  ];
}

const boundaryShape = z.object({
  network: z.object({ mode: z.enum(['none', 'allowlist', 'ask']), allow: z.array(z.string()) }),
  secrets: z.object({ envNames: z.array(z.string()), files: z.array(z.string()) }),
  home: z.string(),
  approvalRequiredFor: z.array(z.string()),
  reviewer: z.string().optional().describe('absent when a person decides every request'),
  approvalWaitMs: z.number(),
  approvalTimeoutMs: z.number(),
  granted: z.object({ commands: z.number(), programs: z.array(z.string()), hosts: z.array(z.string()) }),
  protectedPaths: z
    .object({ secrets: z.array(z.string()), inherited: z.array(z.string()) })
    .describe('secrets: reads are refused; inherited: changes ask a person'),
});

export function registerInfoTool(server: ToolRegistrar, context: ToolContext): void {
  const { airlock, guard } = context;
  const { router } = airlock.config;

  server.registerTool(
    'session_info',
    {
      title: 'Session limits and policy',
      description:
        "This session's sandbox limits, resource usage, network access, policy and what needs a " +
        "person's approval.",
      inputSchema: {},
      outputSchema: {
        sessionId: z.string(),
        state: z.string(),
        isolation: z.string().optional(),
        processes: z
          .object({
            hostUid: z.number().optional().describe('absent under gVisor: no host process runs commands'),
            supervisorIsPid1: z.boolean(),
            separateUid: z.boolean(),
            landlockAbi: z.number().optional().describe('absent where the kernel has no Landlock'),
            yamaPtraceScope: z.number().optional().describe('absent where Yama is not active'),
          })
          .optional(),
        expiresAt: z.string().optional(),
        limits: z.object({
          memoryBytes: z.number(),
          cpus: z.number(),
          pids: z.number(),
          scratchBytes: z.number(),
          timeoutMs: z.number(),
          idleTimeoutMs: z.number(),
          maxOutputChars: z.number(),
          commandsPerWindow: z.number(),
          rateWindowMs: z.number(),
          commandBurst: z.number().describe('commands that may go at once before the rate applies'),
          maxTimeoutMs: z.number().describe('the longest timeout_s a command may ask for, in ms'),
        }),
        usage: z
          .object({
            memoryBytes: z.number(),
            pids: z.number(),
            cpuUsageMs: z.number(),
            cpuFraction: z.number().optional(),
          })
          .optional()
          .describe('absent until the session has been sampled'),
        network: z.enum(['none', 'allowlist', 'ask']),
        policy: z.object({
          name: z.string(),
          approvalRequiredFor: z.array(z.string()),
          approvalTimeoutMs: z.number(),
        }),
        boundary: boundaryShape.optional().describe('what will ask in this session; absent once ended'),
      },
      annotations: { title: 'Session limits and policy', readOnlyHint: true, openWorldHint: false },
    },
    (_args) =>
      guard(async () => {
        const session = await context.sessions.get();
        const info = await session.info();
        const approvals = router.approvalRequiredFor;
        // A surface that bounds approval waits (an agent run: 0) is what this caller gets.
        const boundary =
          info.boundary === null
            ? null
            : {
                ...info.boundary,
                approvalWaitMs: Math.min(info.boundary.approvalWaitMs, context.approvalWaitMs ?? Infinity),
              };
        const lines = [
          `session ${info.id} (${info.state}), isolated by ${info.isolation?.isolation ?? info.driver}` +
            `${info.expiresAt === null ? '' : `, ends at ${info.expiresAt} at the latest`}`,
          `limits: memory ${formatByteSize(info.limits.memoryBytes)}, ${info.limits.cpus} CPUs, ` +
            `${info.limits.pids} processes, ${formatByteSize(info.limits.scratchBytes)} each for /workspace and /tmp, ` +
            `command timeout ${formatDuration(info.limits.timeoutMs)}, ends after ${formatDuration(info.limits.idleTimeoutMs)} idle`,
          info.usage === null
            ? 'usage: not sampled yet'
            : `usage: memory ${formatByteSize(info.usage.memoryBytes)}, ${info.usage.pids} processes`,
          processesLine(info.isolation?.processes),
          `policy: ${info.policy}; inside the sandbox commands run unasked (files, tests, scripts, servers on localhost)`,
          // What the sandbox reaches, not what airlock.yaml asks for (no egress proxy serves it yet).
          ...boundaryLines(boundary),
          `HOME: ${boundary?.home ?? '/tmp/home'} (outside /workspace)`,
          `output: at most ${router.output.maxChars} characters per stream shown; page the rest with read_output`,
          `rate limit: ${toolLimits(context).rateText}`,
        ];
        return okResult(lines.join('\n'), {
          sessionId: info.id,
          state: info.state,
          isolation: info.isolation?.isolation ?? null,
          processes: info.isolation?.processes ?? null,
          expiresAt: info.expiresAt,
          limits: {
            ...info.limits,
            maxOutputChars: router.output.maxChars,
            commandsPerWindow: router.rateLimit.tokens,
            rateWindowMs: router.rateLimit.perMs,
            commandBurst: router.rateLimit.burst,
            maxTimeoutMs: toolLimits(context).maxTimeoutS * 1000,
          },
          usage: info.usage,
          network: boundary?.network.mode ?? 'none',
          policy: {
            name: info.policy,
            approvalRequiredFor: [...approvals],
            approvalTimeoutMs: router.approvalTimeoutMs,
          },
          boundary:
            boundary === null
              ? null
              : {
                  ...boundary,
                  protectedPaths: {
                    secrets: [...SECRET_PATH_PATTERNS],
                    inherited: [...INHERITED_PATH_PATTERNS],
                  },
                },
        });
      }),
  );
}
