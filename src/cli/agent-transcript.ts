/**
 * `airlock agent run`'s transcript for a person: the model's words as they stream, each tool call with
 * its decision and status, approvals asked (with the command that answers them), output cut to a few
 * lines, and a summary. Everything shown came from a model or a sandbox, so control characters are
 * escaped before they reach the terminal: output must not be able to move the cursor, clear the
 * screen or forge a line of the transcript.
 */
import type { AgentEvent, AgentSummary } from '../agent/index.ts';
import type { Paint } from './terminal.ts';

/** Lines of a tool result shown; the model gets all of it (and pages the rest). */
const SHOWN_RESULT_LINES = 12;
/** Characters of one shown line. */
const SHOWN_LINE_CHARS = 240;

// C0 and C1 controls but newline and tab, DEL, and the bidirectional overrides that reorder text.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Text safe to write to a terminal: every control character but newline and tab shown escaped. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function oneLine(text: string, max = SHOWN_LINE_CHARS): string {
  const flat = printable(text).replace(/[\n\t]+/g, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

const count = (n: number): string => n.toLocaleString('en-US');

function argsOf(json: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(json);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A tool call as a person reads it: the command itself for run_command, else the tool and its gist. */
function describeCall(name: string, json: string): string {
  const args = argsOf(json);
  const text = (key: string): string => (typeof args[key] === 'string' ? (args[key] as string) : '');
  switch (name) {
    case 'run_command':
      return `$ ${oneLine(text('command'))}${args['background'] === true ? '   (in the background)' : ''}`;
    case 'check_command':
      return `check_command: ${oneLine(text('command'))}`;
    case 'write_file':
      return `write_file ${oneLine(text('path'))} (${count(text('content').length)} characters)`;
    case 'read_file':
    case 'list_files':
      return `${name} ${oneLine(text('path') || '/workspace')}`;
    case 'read_output':
      return `read_output ${oneLine(text('output_id'))} from ${typeof args['offset'] === 'number' ? args['offset'] : 0}`;
    case 'command_status':
    case 'kill_command':
      return `${name} ${oneLine(text('command_id'))}${typeof args['wait_s'] === 'number' ? ` (waits up to ${args['wait_s']} s)` : ''}`;
    default:
      return `${oneLine(name, 60)} ${oneLine(json, 120)}`;
  }
}

/** The status line of a result: what happened, coloured by whether it went through. */
function describeResult(event: Extract<AgentEvent, { type: 'tool_result' }>, paint: Paint): string {
  const facts = event.facts ?? {};
  const status = typeof facts['status'] === 'string' ? facts['status'] : null;
  const took = seconds(event.durationMs);
  if (event.isError) return paint.red(`✗ ${oneLine(event.text.split('\n')[0] ?? '')}`);
  switch (status) {
    case 'completed': {
      const exit = facts['exitCode'];
      const how = typeof exit === 'number' ? `exit ${exit}` : 'done';
      return (exit === 0 || exit === undefined ? paint.green : paint.yellow)(`✓ ${how} · ${took}`);
    }
    case 'denied': {
      const reasons = Array.isArray(facts['reasons']) ? (facts['reasons'] as unknown[]).map(String) : [];
      return paint.red(`✗ denied: ${oneLine(reasons.join('; ') || 'refused')}`);
    }
    case 'pending_approval':
      return paint.yellow(
        `? waiting for a person's approval (${oneLine(String(facts['approvalId'] ?? ''))})`,
      );
    case 'running':
      return paint.yellow(`… running in the background (${oneLine(String(facts['commandId'] ?? ''))})`);
    case 'timed_out':
      return paint.red(`✗ timed out · ${took}`);
    case 'killed':
      return paint.yellow(`✗ killed · ${took}`);
    case 'rate_limited':
    case 'failed':
      return paint.red(`✗ ${status}`);
    default: {
      const decision = facts['decision'];
      if (typeof decision === 'string') {
        const colour = decision === 'allow' ? paint.green : decision === 'ask' ? paint.yellow : paint.red;
        return colour(`→ ${decision}`);
      }
      return paint.green(`✓ ${took}`);
    }
  }
}

/** The first lines of what the model read, for the person; the rest is a count. */
function shownBody(text: string, paint: Paint): string[] {
  const lines = printable(text).split('\n');
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  const shown = lines
    .slice(0, SHOWN_RESULT_LINES)
    .map((line) =>
      paint.dim(`    │ ${line.length > SHOWN_LINE_CHARS ? `${line.slice(0, SHOWN_LINE_CHARS - 1)}…` : line}`),
    );
  if (lines.length > SHOWN_RESULT_LINES) {
    shown.push(paint.dim(`    │ … ${lines.length - SHOWN_RESULT_LINES} more lines, not shown here`));
  }
  return shown;
}

export function summaryLine(summary: AgentSummary): string {
  const status =
    summary.status === 'completed'
      ? 'completed'
      : summary.status === 'max_steps'
        ? 'stopped: the step limit was reached'
        : summary.status === 'budget_exhausted'
          ? 'stopped: the token budget was spent'
          : summary.status === 'aborted'
            ? 'interrupted'
            : `failed: ${oneLine(summary.error?.message ?? 'the model provider failed')}`;
  return (
    `${status} · ${summary.steps} steps · ${summary.commands} commands ` +
    `(${summary.denied} denied, ${summary.asks} asked) · ` +
    `${count(summary.tokens.input)} tokens in, ${count(summary.tokens.output)} out · ${seconds(summary.durationMs)}`
  );
}

function workspaceLines(event: Extract<AgentEvent, { type: 'workspace_changes' }>, paint: Paint): string {
  const lines = [
    `\nworkspace ${oneLine(event.dir)}: ${event.added.length} added, ${event.changed.length} changed, ` +
      `${event.deleted.length} deleted in the sandbox`,
  ];
  const written = new Set(event.written);
  for (const path of [...event.added, ...event.changed]) {
    lines.push(
      written.has(path)
        ? paint.green(`  written back  ${oneLine(path)}`)
        : `  changed       ${oneLine(path)}`,
    );
  }
  for (const path of event.deleted)
    lines.push(paint.dim(`  deleted       ${oneLine(path)} (left in place on the host)`));
  for (const item of event.leftOut)
    lines.push(paint.yellow(`  left out      ${oneLine(item.path)}: ${oneLine(item.why)}`));
  if (
    event.written.length === 0 &&
    event.added.length + event.changed.length > 0 &&
    event.leftOut.length === 0
  ) {
    lines.push(
      paint.dim('  (nothing written back: run with --write-back to copy the changes to the directory)'),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A writer of transcript lines; returns the function that takes each event. */
export function createTranscript(write: (text: string) => void, paint: Paint): (event: AgentEvent) => void {
  let streaming = false;
  const endStream = (): void => {
    if (streaming) write('\n');
    streaming = false;
  };
  return (event) => {
    switch (event.type) {
      case 'run_started':
        write(
          `${paint.bold('airlock agent')}: ${event.provider}:${oneLine(event.model, 100)} at ${oneLine(event.endpoint, 200)} · ` +
            `session ${event.sessionId} · at most ${count(event.maxSteps)} steps, ${count(event.budgetTokens)} tokens\n`,
        );
        return;
      case 'model_text':
        if (!streaming) write(`\n${paint.bold(`[${event.step}]`)} `);
        streaming = true;
        write(printable(event.text));
        return;
      case 'model_response':
        if (!streaming && event.text !== '')
          write(`\n${paint.bold(`[${event.step}]`)} ${printable(event.text)}`);
        if (!streaming && event.text !== '') streaming = true;
        endStream();
        return;
      case 'model_retry':
        endStream();
        write(
          paint.yellow(
            `    ! model call failed (${event.status ?? 'no answer'}: ${oneLine(event.message, 160)}); ` +
              `retrying in ${seconds(event.delayMs)} (attempt ${event.attempt + 1} of ${event.maxAttempts})\n`,
          ),
        );
        return;
      case 'tool_call':
        endStream();
        write(`${paint.bold(`[${event.step}]`)} ${paint.bold(describeCall(event.name, event.arguments))}\n`);
        return;
      case 'tool_result':
        write(`    ${describeResult(event, paint)}\n`);
        for (const line of shownBody(event.text, paint)) write(`${line}\n`);
        return;
      case 'approval_requested':
        write(
          paint.yellow(
            `    ? approval ${event.approvalId} asked for: ${oneLine(event.subject, 160)}\n` +
              `      a person approves with: airlock approvals approve ${event.approvalId}\n`,
          ),
        );
        return;
      case 'context_elided':
        write(
          paint.dim(
            `    · context: ${event.elided} old tool results elided ` +
              `(~${count(event.estimatedTokensBefore)} → ~${count(event.estimatedTokensAfter)} tokens)\n`,
          ),
        );
        return;
      case 'workspace_copied':
        write(
          `copied ${count(event.files)} files (${count(event.bytes)} bytes) from ${oneLine(event.dir)} into /workspace\n`,
        );
        for (const item of event.leftOut)
          write(paint.dim(`  left out ${oneLine(item.path)}: ${oneLine(item.why)}\n`));
        return;
      case 'workspace_changes':
        endStream();
        write(workspaceLines(event, paint));
        return;
      case 'run_finished':
        endStream();
        write(`\n${(event.status === 'completed' ? paint.green : paint.yellow)(summaryLine(event))}\n`);
        return;
    }
  };
}
