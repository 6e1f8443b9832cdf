import type { Airlock } from '../../airlock/index.ts';
import type { RunResult } from '../../router/index.ts';
import { assertSessionAccess, liveSessionFor } from '../access.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import {
  checkCommandBody,
  checkResult,
  commandParams,
  outputPage,
  outputParams,
  outputQuery,
  runCommandBody,
  runResult,
  sessionParams,
} from '../schemas.ts';
import type { Principal } from '../tokens.ts';
import { streamCommandEvents } from './command-events.ts';

/**
 * A command is reached through its session's URL: one of another session is as unknown as a missing
 * one (the router's session-scope check), and a session token reaches its own session only.
 */
async function commandOf(
  airlock: Airlock,
  principal: Principal | null,
  params: { id: string; commandId: string },
): Promise<RunResult> {
  assertSessionAccess(principal, params.id);
  return withFollowUp(await airlock.commands.get(params.commandId, { within: params.id }));
}

/** A command that goes on after the answer (waiting for a person, running): the exact calls to follow it. */
export function withFollowUp(result: RunResult): RunResult {
  if (result.status !== 'pending_approval' && result.status !== 'running') return result;
  const url = `/v1/sessions/${result.sessionId}/commands/${result.id}`;
  return {
    ...result,
    forModel:
      `${result.forModel}\nFollow it up with GET ${url} (SDK: session.commands.get(${JSON.stringify(result.id)}))` +
      `; GET ${url}/events streams it until it ends.`,
  };
}

export function commandRoutes({ airlock }: { readonly airlock: Airlock }): RouteSpec[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/sessions/:id/commands',
      summary: 'Run a command through policy, approval, rate limit and the sandbox',
      tag: 'commands',
      access: 'any',
      params: sessionParams,
      body: runCommandBody,
      response: {
        status: 200,
        description:
          'The outcome: a denial, a pending approval or a timeout is a result with its status, not an error',
        schema: runResult,
      },
      handler: async ({ principal, params, body }) => {
        const session = await liveSessionFor(airlock, principal, params.id);
        // Not waiting means both: the command runs in the background once allowed, and a command that
        // needs a person returns `pending_approval` at once and goes on when decided. Waiting, a
        // command that needs a person is answered `pending_approval` after `approvalWaitMs`.
        // An interactive command is typed into while it runs: it cannot be waited for here.
        const wait = body.wait && body.interactive === undefined;
        const result = await session.run(body.command, {
          ...(body.timeoutMs === undefined ? {} : { timeoutMs: body.timeoutMs }),
          ...(body.cwd === undefined ? {} : { cwd: body.cwd }),
          ...(body.env === undefined ? {} : { env: body.env }),
          ...(body.stdin === undefined ? {} : { stdin: body.stdin }),
          ...(body.stdinBase64 === undefined ? {} : { stdin: Buffer.from(body.stdinBase64, 'base64') }),
          ...(body.interactive === undefined
            ? {}
            : { interactive: body.interactive.pty === undefined ? {} : { pty: body.interactive.pty } }),
          background: !wait,
          ...(wait ? {} : { waitForApproval: false }),
          ...(body.approvalWaitMs === undefined || !wait ? {} : { approvalWaitMs: body.approvalWaitMs }),
        });
        return withFollowUp(result);
      },
    }),
    defineRoute({
      method: 'POST',
      // `::` is a literal colon in a route (`commands:check`, the method-style name of a dry run).
      url: '/v1/sessions/:id/commands::check',
      summary:
        'Dry run: what running a command would do in this session now (nothing runs; the check is audited)',
      tag: 'commands',
      access: 'any',
      params: sessionParams,
      body: checkCommandBody,
      response: { status: 200, description: 'The decision and its reasons', schema: checkResult },
      handler: async ({ principal, params, body }) => {
        const session = await liveSessionFor(airlock, principal, params.id);
        return session.commands.check(body.command);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/sessions/:id/commands/:commandId',
      summary: 'A command: its result, or its output so far while it runs',
      tag: 'commands',
      access: 'any',
      people: 'see',
      params: commandParams,
      response: { status: 200, description: 'The command', schema: runResult },
      handler: ({ principal, params }) => commandOf(airlock, principal, params),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/sessions/:id/commands/:commandId/events',
      summary: 'Stream a command: `output` events (redacted, whole lines), then one `status` event',
      tag: 'commands',
      access: 'any',
      people: 'see',
      params: commandParams,
      response: {
        status: 200,
        description:
          'text/event-stream: `event: output` {stream, text}…, then `event: status` (a RunResult); or ' +
          '`event: error` {code, message} when the stream cannot go on. A command takes at most 8 ' +
          'watchers: a ninth is answered 429 LIMIT_REACHED',
        contentType: 'text/event-stream',
      },
      handler: async ({ principal, params, reply }) => {
        await commandOf(airlock, principal, params);
        return streamCommandEvents(airlock, params, reply);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/sessions/:id/commands/:commandId/kill',
      summary: "Kill a running command's whole process tree",
      tag: 'commands',
      access: 'any',
      people: 'decide',
      params: commandParams,
      response: { status: 200, description: 'The command after the kill', schema: runResult },
      handler: async ({ principal, params }) => {
        assertSessionAccess(principal, params.id);
        return withFollowUp(await airlock.commands.kill(params.commandId, { within: params.id }));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/outputs/:outputId',
      summary: "Page a command's full (redacted, bounded) output",
      tag: 'commands',
      access: 'any',
      people: 'see',
      params: outputParams,
      query: outputQuery,
      response: { status: 200, description: 'One page', schema: outputPage },
      handler: ({ principal, params, query }) =>
        airlock.commands.readOutput(params.outputId, {
          ...query,
          ...(principal?.kind === 'session' ? { within: principal.sessionId } : {}),
        }),
    }),
  ];
}
