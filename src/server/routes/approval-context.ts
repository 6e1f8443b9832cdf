import type { Airlock } from '../../airlock/index.ts';
import type { Decision } from '../../policy/index.ts';
import { isAirlockError } from '../../errors/index.ts';
import type { AuditEvent } from '../../store/index.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import { approvalParams } from '../schemas.ts';
import { approvalContext } from '../watch-schemas.ts';

/** Commands of the session shown beside a request, so a person sees what led up to it. */
const RECENT_COMMANDS = 10;

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** The decision as recorded when the command was proposed: the audit log is the authority. */
function recordedDecision(events: readonly AuditEvent[]) {
  const decided = events.find((event) => event.type === 'command.decided');
  if (decided === undefined) return null;
  const { data } = decided;
  return {
    policy: typeof data['policy'] === 'string' ? data['policy'] : '',
    ruleIds: strings(data['ruleIds']),
    reasons: strings(data['reasons']),
  };
}

function analysisOf(decision: Decision) {
  const effect = (verdict: Decision['hazards'][number]) => ({
    summary: verdict.summary,
    kind: verdict.kind,
    decision: verdict.decision,
    ruleId: verdict.ruleId,
    reason: verdict.reason,
  });
  return {
    commands: decision.commands.map((verdict) => ({
      command: verdict.command,
      program: verdict.program,
      decision: verdict.decision,
      ruleIds: [...verdict.ruleIds],
      reasons: [...verdict.reasons],
      effects: verdict.effects.map(effect),
    })),
    hazards: decision.hazards.map(effect),
  };
}

/**
 * Everything a person needs to decide one request well: the command, the rules that asked, how the
 * policy reads each part and what the session did just before.
 */
export function approvalContextRoutes({ airlock }: { readonly airlock: Airlock }): RouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/approvals/:approvalId/context',
      summary:
        "An approval request with its command, the policy's reading of it and the session's recent commands",
      tag: 'approvals',
      access: 'admin',
      people: 'see',
      params: approvalParams,
      response: { status: 200, description: 'The request in context', schema: approvalContext },
      handler: async ({ params }) => {
        const approval = await airlock.approvals.get(params.approvalId);
        const recent = await airlock.commands.list({ sessionId: approval.sessionId, limit: RECENT_COMMANDS });
        const command =
          approval.commandId === null
            ? null
            : (recent.find((record) => record.id === approval.commandId) ??
              (
                await airlock.commands.list({
                  sessionId: approval.sessionId,
                  id: approval.commandId,
                  limit: 1,
                })
              )[0] ??
              null);
        const events =
          approval.commandId === null
            ? []
            : await airlock.audit.list({
                sessionId: approval.sessionId,
                commandId: approval.commandId,
                types: ['command.decided'],
                limit: 1,
              });
        return {
          approval,
          command,
          decision: recordedDecision(events),
          analysis: await analyse(airlock, approval.sessionId, command?.command),
          recent,
        };
      },
    }),
  ];
}

/** The stored text is redacted, so what the analysis shows is too; an ended session has no policy to ask. */
async function analyse(airlock: Airlock, sessionId: string, command: string | undefined) {
  if (command === undefined) return null;
  try {
    const session = await airlock.sessions.get(sessionId);
    return analysisOf(await session.explain(command));
  } catch (error) {
    if (isAirlockError(error) && (error.code === 'SESSION_ENDED' || error.code === 'NOT_FOUND')) return null;
    throw error;
  }
}
