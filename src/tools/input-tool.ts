/**
 * send_input: text for a command run_command started with `interactive` (its stdin kept open), as a
 * person would type it. Recorded in the audit log, redacted. Not a terminal: a model gets lines in
 * and output back through command_status, never a screen to redraw.
 */
import { z } from 'zod';
import type { ToolRegistrar } from './registrar.ts';
import type { ToolContext } from './tool-context.ts';
import { okResult } from './tool-results.ts';

/** Text one call may send (the router's own bound per call). */
const MAX_INPUT_CHARS = 64 * 1024;

export function registerSendInput(server: ToolRegistrar, context: ToolContext): void {
  const { airlock, guard, sessions } = context;
  const within = (sessionId: string): boolean => sessions.owns(sessionId);
  server.registerTool(
    'send_input',
    {
      title: 'Type into a running command',
      description:
        'Send text to the standard input of a command run_command started with interactive: true ' +
        '(include "\\n" to end a line), or end its input with end: true. Then read what it printed ' +
        'with command_status.',
      inputSchema: {
        command_id: z.string().min(1).describe('the commandId run_command returned (cmd_…)'),
        text: z.string().max(MAX_INPUT_CHARS).optional().describe('what to type, e.g. "yes\\n"'),
        end: z.boolean().optional().describe('close its input after the text (it reads end of file)'),
      },
      outputSchema: { commandId: z.string(), written: z.number().int() },
      annotations: {
        title: 'Type into a running command',
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    ({ command_id, text, end }) =>
      guard(async () => {
        const { written } = await airlock.commands.sendInput(
          command_id,
          {
            ...(text === undefined ? {} : { data: Buffer.from(text, 'utf8') }),
            ...(end === undefined ? {} : { end }),
          },
          { within },
        );
        return okResult(
          `${written} bytes sent to ${command_id}${end === true ? ', then end of input' : ''}; ` +
            'read its output with command_status.',
          { commandId: command_id, written },
        );
      }),
  );
}
