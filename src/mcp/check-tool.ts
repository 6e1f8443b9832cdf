/**
 * check_command: a dry run, so a model can learn the rules before it acts — what running a command
 * would do in this session now (run unasked, ask a person, be refused) and why. Nothing runs, nobody
 * is asked, no rate limit is spent; the check is audited.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { ToolContext } from './tool-context.ts';
import { okResult } from './tool-results.ts';

export function registerCheckTool(server: McpServer, context: ToolContext): void {
  const { guard } = context;
  server.registerTool(
    'check_command',
    {
      title: 'Check a command without running it',
      description:
        'Dry run: would this command run unasked, wait for a person, or be refused in this session now? ' +
        'Answers the decision and its reasons (and, for one that asks, what a person could approve for ' +
        'the rest of the session). Nothing runs and nobody is asked. Use it before a command you are ' +
        'unsure about, e.g. one that reaches the network or touches build or CI files.',
      inputSchema: {
        command: z.string().min(1).describe('the command line, exactly as you would run it'),
      },
      outputSchema: {
        decision: z.enum(['allow', 'ask', 'deny']),
        reasons: z.array(z.string()),
        ruleIds: z.array(z.string()),
        approvalRequiredFor: z.array(z.string()).describe('router.approvalRequiredFor entries it matches'),
        grants: z
          .array(z.object({ scope: z.enum(['command', 'program', 'host']), covers: z.array(z.string()) }))
          .describe('for an ask: what a person could approve for the rest of the session instead of once'),
      },
      annotations: { title: 'Check a command', readOnlyHint: true, openWorldHint: false },
    },
    ({ command }) =>
      guard(async () => {
        const session = await context.sessions.get();
        const checked = await session.commands.check(command);
        return okResult(checked.forModel, {
          decision: checked.decision,
          reasons: [...checked.reasons],
          ruleIds: [...checked.ruleIds],
          approvalRequiredFor: [...checked.approvalRequiredFor],
          grants: checked.grants.map((grant) => ({ scope: grant.scope, covers: [...grant.covers] })),
        });
      }),
  );
}
