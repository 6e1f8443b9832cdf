/**
 * session_info: what the model's environment allows, so it can plan instead of discovering limits
 * by hitting them.
 */
import { z } from 'zod';
import { formatByteSize, formatDuration } from '../config/index.ts';
import type { ToolRegistrar } from './registrar.ts';
import type { ToolContext } from './tool-context.ts';
import { okResult } from './tool-results.ts';
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
        network: z.literal('none'),
        policy: z.object({
          name: z.string(),
          approvalRequiredFor: z.array(z.string()),
          approvalTimeoutMs: z.number(),
        }),
      },
      annotations: { title: 'Session limits and policy', readOnlyHint: true, openWorldHint: false },
    },
    (_args) =>
      guard(async () => {
        const session = await context.sessions.get();
        const info = await session.info();
        const approvals = router.approvalRequiredFor;
        const lines = [
          `session ${info.id} (${info.state}), isolated by ${info.isolation?.isolation ?? info.driver}` +
            `${info.expiresAt === null ? '' : `, ends at ${info.expiresAt} at the latest`}`,
          `limits: memory ${formatByteSize(info.limits.memoryBytes)}, ${info.limits.cpus} CPUs, ` +
            `${info.limits.pids} processes, ${formatByteSize(info.limits.scratchBytes)} each for /workspace and /tmp, ` +
            `command timeout ${formatDuration(info.limits.timeoutMs)}, ends after ${formatDuration(info.limits.idleTimeoutMs)} idle`,
          info.usage === null
            ? 'usage: not sampled yet'
            : `usage: memory ${formatByteSize(info.usage.memoryBytes)}, ${info.usage.pids} processes`,
          // What sandboxes get, not what airlock.yaml asks: allow-lists are not implemented yet.
          processesLine(info.isolation?.processes),
          'network: none (nothing can be downloaded or installed from the internet)',
          `policy: ${info.policy}; ` +
            (approvals.length === 0
              ? 'nothing needs approval beyond what the policy asks'
              : `a person approves ${approvals.join(', ')}`) +
            ` (undecided after ${formatDuration(router.approvalTimeoutMs)} means denied)`,
          `output: at most ${router.output.maxChars} characters per stream shown; page the rest with read_output`,
          `rate limit: ${router.rateLimit.tokens} commands per ${formatDuration(router.rateLimit.perMs)}`,
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
          },
          usage: info.usage,
          network: 'none',
          policy: {
            name: info.policy,
            approvalRequiredFor: [...approvals],
            approvalTimeoutMs: router.approvalTimeoutMs,
          },
        });
      }),
  );
}
