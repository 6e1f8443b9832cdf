/**
 * check_command: what the policy would decide for a command in this session, without running it. A
 * model plans around a refusal (or an approval it would have to wait for) before it makes one.
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
        'What the policy would decide for a shell command in this session, without running it: ' +
        'allow (runs unasked), ask (a person must approve it first) or deny (refused), with the ' +
        'reasons and what would be allowed instead. Nothing runs and nobody is asked.',
      inputSchema: {
        command: z.string().min(1).describe('the command line to judge, e.g. "git push origin main"'),
      },
      outputSchema: {
        command: z.string().describe('as judged, redacted'),
        decision: z.enum(['allow', 'ask', 'deny']),
        reasons: z.array(z.string()),
        ruleIds: z.array(z.string()),
      },
      annotations: { title: 'Check a command against the policy', readOnlyHint: true, openWorldHint: false },
    },
    ({ command }) =>
      guard(async () => {
        const session = await context.sessions.get();
        const check = await session.check(command);
        return okResult(check.forModel, {
          command: check.command,
          decision: check.decision,
          reasons: [...check.reasons],
          ruleIds: [...check.ruleIds],
        });
      }),
  );
}
