/**
 * The text a model reads back. Short, and always says what to do next: a denial names the rule and
 * the reason (which already says what would be allowed), a pending approval says how to follow up.
 */
import type { RunResult } from '../types.ts';

type Facts = Omit<RunResult, 'forModel'>;

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

function outputBlock(facts: Facts): string {
  const parts: string[] = [];
  if (facts.stdout !== '') parts.push(`stdout:\n${facts.stdout}`);
  if (facts.stderr !== '') parts.push(`stderr:\n${facts.stderr}`);
  if (parts.length === 0) return '(no output)';
  return parts.join('\n');
}

function reasonList(reasons: readonly string[]): string {
  if (reasons.length === 0) return '';
  return `\n${reasons.map((reason) => `- ${reason}`).join('\n')}`;
}

/**
 * The hosts the egress proxy refused while the command ran: a client often reports only a status
 * code or a closed connection, and the model needs the host and the reason to do something else.
 */
function refusedBlock(facts: Facts): string {
  if (facts.refusedHosts.length === 0) return '';
  const lines = facts.refusedHosts.map(
    (refusal) => `- ${refusal.message}${refusal.count > 1 ? ` (${refusal.count} connections)` : ''}`,
  );
  return `\nthe network refused ${facts.refusedHosts.length === 1 ? 'a host' : 'hosts'} this command tried to reach:\n${lines.join('\n')}`;
}

export function textForModel(facts: Facts, context: { readonly timeoutMs?: number } = {}): string {
  return bareText(facts, context) + refusedBlock(facts);
}

function bareText(facts: Facts, context: { readonly timeoutMs?: number }): string {
  switch (facts.status) {
    case 'completed': {
      const how =
        facts.exitCode !== null
          ? `exit code ${facts.exitCode}`
          : facts.oomKilled
            ? 'killed: it ran out of memory (the sandbox memory limit); use less memory or process data in parts'
            : `killed by ${facts.signal ?? 'a signal'}`;
      return `${how}\n${outputBlock(facts)}`;
    }
    case 'denied': {
      const rules = facts.ruleIds.length > 0 ? ` (rule ${facts.ruleIds.join(', ')})` : '';
      return `not run: denied${rules}.${reasonList(facts.reasons)}`;
    }
    case 'pending_approval':
      return (
        `not run yet: a person must approve it (approval ${facts.approvalId ?? '?'}).${reasonList(facts.reasons)}\n` +
        `It runs by itself once approved; check on command ${facts.id} later, or do something else meanwhile.`
      );
    case 'timed_out':
      return (
        `timed out${context.timeoutMs === undefined ? '' : ` after ${seconds(context.timeoutMs)}`}; the command and every process it started were killed. ` +
        `Run long work in the background, or split it.\n${outputBlock(facts)}`
      );
    case 'rate_limited':
      return `not run: too many commands in this session; retry in ${seconds(facts.retryAfterMs ?? 1000)}.`;
    case 'failed':
      return `not run: ${facts.error?.message ?? 'the sandbox failed'}`;
    case 'running':
      return `started in the background as command ${facts.id}; check its status and output later, or kill it.`;
    case 'killed':
      return `killed on request, with every process it started.\n${outputBlock(facts)}`;
  }
}
