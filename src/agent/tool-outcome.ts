/**
 * What the loop takes from a tool's result: the text the model reads (shaped to the context), how to
 * get it back once elided, and what it means for the run's counts and for the person watching.
 */
import type { ToolCallRequest } from './conversation.ts';
import type { ToolResult } from '../tools/index.ts';
import { shapeToolText } from './context-budget.ts';

export interface ToolOutcome {
  readonly text: string;
  readonly isError: boolean;
  readonly facts: Readonly<Record<string, unknown>> | null;
  /** How the model gets the content again once it has been elided; null when there is no way. */
  readonly recall: string | null;
  /** A command the policy refused, or a person was asked about (command or file write). */
  readonly denied: boolean;
  readonly approval: { readonly approvalId: string; readonly commandId: string | null } | null;
}

function stringFact(facts: Readonly<Record<string, unknown>> | null, key: string): string | null {
  const value = facts?.[key];
  return typeof value === 'string' ? value : null;
}

function recallOf(name: string, facts: Readonly<Record<string, unknown>> | null): string | null {
  const outputId = stringFact(facts, 'outputId');
  const path = stringFact(facts, 'path');
  switch (name) {
    case 'run_command':
    case 'command_status':
    case 'kill_command': {
      const commandId = stringFact(facts, 'commandId');
      if (outputId !== null) return `page its output with read_output {"output_id": "${outputId}"}`;
      return commandId === null ? null : `see it again with command_status {"command_id": "${commandId}"}`;
    }
    case 'read_output': {
      const offset = facts?.['offset'];
      const stream = stringFact(facts, 'stream') ?? 'stdout';
      return outputId === null
        ? null
        : `read it again with read_output {"output_id": "${outputId}", "stream": "${stream}", "offset": ${typeof offset === 'number' ? offset : 0}}`;
    }
    case 'read_file': {
      const offset = facts?.['offset'];
      return path === null
        ? null
        : `read it again with read_file {"path": ${JSON.stringify(path)}, "offset": ${typeof offset === 'number' ? offset : 0}}`;
    }
    case 'list_files':
      return path === null ? null : `list it again with list_files {"path": ${JSON.stringify(path)}}`;
    default:
      return null;
  }
}

export function toolOutcome(request: ToolCallRequest, result: ToolResult, maxChars: number): ToolOutcome {
  const facts = result.structuredContent ?? null;
  const status = stringFact(facts, 'status');
  const approvalId = stringFact(facts, 'approvalId');
  const isCommand = request.name === 'run_command' || request.name === 'command_status';
  return {
    text: shapeToolText(result.content.map((part) => part.text).join('\n'), maxChars),
    isError: result.isError === true,
    facts,
    recall: recallOf(request.name, facts),
    denied: request.name === 'run_command' && status === 'denied',
    approval:
      status === 'pending_approval' && approvalId !== null
        ? { approvalId, commandId: isCommand ? stringFact(facts, 'commandId') : null }
        : null,
  };
}
