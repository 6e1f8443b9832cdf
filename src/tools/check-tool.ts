/**
 * check_command: a dry run, so a model can learn the rules before it acts — what running a command
 * would do in this session now (run unasked, ask a person, be refused) and why. Nothing runs, nobody
 * is asked, no rate limit is spent; the check is audited (`policy.checked`), not recorded as a command.
 */
import { z } from 'zod';
import type { ToolRegistrar } from './registrar.ts';
import type { ToolContext } from './tool-context.ts';
import { okResult } from './tool-results.ts';

export function registerCheckCommand(server: ToolRegistrar, context: ToolContext): void {
  const { guard } = context;
  server.registerTool(
    'check_command',
    {
      title: 'Check a command against the policy',
      description:
        'What the policy would decide for a shell command in this session now, without running it: ' +
        'allow (runs unasked), ask (a person must approve it first) or deny (refused), with the ' +
        'reasons and what would be allowed instead, and, for one that asks, what a person could approve ' +
        'for the rest of the session. Nothing runs and nobody is asked. Use it before a command you are ' +
        'unsure about, e.g. one that reaches the network or touches build or CI files.',
      inputSchema: {
        command: z.string().min(1).describe('the command line to judge, e.g. "git push origin main"'),
      },
      outputSchema: {
        command: z.string().describe('as judged, redacted'),
        decision: z.enum(['allow', 'ask', 'deny']),
        reasons: z.array(z.string()),
        ruleIds: z.array(z.string()),
        approvalRequiredFor: z.array(z.string()).describe('router.approvalRequiredFor entries it matches'),
        grants: z
          .array(z.object({ scope: z.enum(['command', 'program', 'host']), covers: z.array(z.string()) }))
          .describe('for an ask: what a person could approve for the rest of the session instead of once'),
      },
      annotations: { title: 'Check a command against the policy', readOnlyHint: true, openWorldHint: false },
    },
    ({ command }) =>
      guard(async () => {
        const session = await context.sessions.get();
        const checked = await session.commands.check(command);
        return okResult(checked.forModel, {
          command: checked.command,
          decision: checked.decision,
          reasons: [...checked.reasons],
          ruleIds: [...checked.ruleIds],
          approvalRequiredFor: [...checked.approvalRequiredFor],
          grants: checked.grants.map((grant) => ({ scope: grant.scope, covers: [...grant.covers] })),
        });
      }),
  );
}
