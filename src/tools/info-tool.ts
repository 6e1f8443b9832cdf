/**
 * session_info: what the model's environment allows, so it can plan instead of discovering limits
 * by hitting them.
 */
import { z } from 'zod';
import type { SessionBoundary, SessionInfo } from '../airlock/index.ts';
import { formatByteSize, formatDuration } from '../config/index.ts';
import { INHERITED_PATH_PATTERNS, SECRET_PATH_PATTERNS } from '../policy/index.ts';
import type { ToolRegistrar } from './registrar.ts';
import type { ToolContext } from './tool-context.ts';
import { okResult } from './tool-results.ts';
import { toolLimits } from './command-tools.ts';
import { EGRESS_BRIDGE_HOST, EGRESS_BRIDGE_PORT } from '../sandbox/index.ts';
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

const PROXY_URL = `http://${EGRESS_BRIDGE_HOST}:${EGRESS_BRIDGE_PORT}`;

/** What the session can reach, in the words the model plans with. */
function networkLine(network: SessionInfo['network']): string {
  if (network.mode === 'none')
    return "network: none (only the sandbox's own loopback; nothing can be downloaded or installed)";
  const allowed = network.allow.length === 0 ? 'no hosts yet' : network.allow.join(', ');
  const ask =
    network.mode === 'ask'
      ? '; a connection to another host waits for a person to approve it'
      : '; other hosts are refused with a 403 that says why';
  const secrets =
    network.secrets.length === 0
      ? ''
      : `; secrets (the variable holds a placeholder the proxy swaps for the value, only for these hosts): ${network.secrets.map((secret) => `${secret.name} → ${secret.hosts.join(', ')}`).join('; ')}`;
  return `network: through the egress proxy at ${PROXY_URL} (HTTP_PROXY, HTTPS_PROXY and ALL_PROXY are set; no DNS inside), allowed: ${allowed}${ask}${secrets}`;
}

/** What will ask in this session, in lines for the model. */
function boundaryLines(boundary: SessionBoundary | null): string[] {
  if (boundary === null) return ['what will ask: unknown (the session has ended)'];
  const { secrets, granted } = boundary;
  const wait = `a call waits ${formatDuration(boundary.approvalWaitMs)} for a person, then answers pending_approval (it still runs once approved; undecided after ${formatDuration(boundary.approvalTimeoutMs)} means denied)`;
  return [
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
        network: z.object({
          mode: z.enum(['none', 'allowlist', 'ask']),
          allow: z.array(z.string()),
          proxy: z.string().optional().describe('where HTTP_PROXY points; absent without a network'),
          secrets: z.array(z.object({ name: z.string(), hosts: z.array(z.string()) })),
        }),
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
          networkLine(info.network),
          `policy: ${info.policy}; inside the sandbox commands run unasked (files, tests, scripts, servers on localhost)`,
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
          network: {
            mode: info.network.mode,
            allow: [...info.network.allow],
            ...(info.network.mode === 'none' ? {} : { proxy: PROXY_URL }),
            secrets: info.network.secrets.map((secret) => ({ name: secret.name, hosts: [...secret.hosts] })),
          },
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
