import type { Command } from 'commander';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import pino from 'pino';
import { resolveConfig } from '../config/index.ts';
import { createAirlockMcpServer, lazySession } from '../mcp/index.ts';
import type { CliContext, OutputStream } from './context.ts';
import { createConfiguredAirlock } from './configured-airlock.ts';

interface McpFlags {
  config?: string;
  policy?: string;
}

/** This checkout's `bin/airlock.js`: the one path an MCP client can start without fetching a package. */
const airlockBinPath = fileURLToPath(new URL('../../bin/airlock.js', import.meta.url));

export function registerMcpCommand(program: Command, context: CliContext): void {
  program
    .command('mcp')
    .description(
      'Speak MCP on stdin/stdout: one sandboxed session for the client, ended when it disconnects.',
    )
    .option('--config <path>', 'airlock.yaml to use (default: ./airlock.yaml if present)')
    .option(
      '--policy <policy>',
      'preset (readonly, coding-agent, permissive) or a YAML policy file (default: the policy: section of airlock.yaml)',
    )
    .addHelpText(
      'after',
      `
Add it to an MCP client as a stdio server by its absolute path, e.g.
  { "command": ${JSON.stringify(airlockBinPath)}, "args": ["mcp"] }
(not "npx airlock": outside this checkout that name on the npm registry is someone else's package).
The session is created on the first tool call and destroyed when the client closes stdin (or on
SIGINT/SIGTERM). Commands that need a person's approval wait for it; approve them from another
terminal with airlock approvals ls / airlock approvals approve <id>. Logs go to stderr only.
`,
    )
    .action(async (flags: McpFlags) => {
      context.setExitCode(await runMcp(flags, context));
    });
}

async function runMcp(flags: McpFlags, context: CliContext): Promise<number> {
  const resolved = await resolveConfig({ cwd: context.cwd, env: context.env, explicitPath: flags.config });
  // stdout carries MCP's JSON-RPC and nothing else; a stray log line there would break the client.
  const logger = pino({ level: 'warn' }, { write: (line: string) => void context.stderr.write(line) });
  const airlock = await createConfiguredAirlock(resolved, flags.policy, context, { logger });
  const mcp = createAirlockMcpServer({
    airlock,
    session: lazySession(airlock),
    logger,
  });
  const input = context.stdin instanceof Readable ? context.stdin : new Readable().wrap(context.stdin);
  const stopOnInterrupt = context.onInterrupt(() => void mcp.close());
  // The client went away: stdin ended (the transport itself only listens for data).
  const onEnd = (): void => void mcp.close();
  input.once('end', onEnd);
  input.once('close', onEnd);
  try {
    await mcp.server.connect(new StdioServerTransport(input, writableOf(context.stdout)));
    await mcp.closed;
  } finally {
    stopOnInterrupt();
    input.off('end', onEnd);
    input.off('close', onEnd);
    await mcp.close();
    await airlock.close();
    // A paused stdin pipe would otherwise keep the process alive after the client left.
    if (input === process.stdin) input.destroy();
  }
  return 0;
}

/** The context's stdout as the Writable the SDK wants, honouring back-pressure. */
function writableOf(stream: OutputStream): Writable {
  if (stream instanceof Writable) return stream;
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (stream.write(chunk) === false && stream.once) stream.once('drain', () => callback());
      else callback();
    },
  });
}
