/**
 * Airlock's tools on the official MCP SDK: each shared definition becomes an MCP tool with the same
 * name, description, schemas and annotations; a call's cancellation and progress token become the
 * tool call's signal and progress reporter.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { ZodRawShape } from 'zod';
import type { ToolCall, ToolRegistrar } from '../tools/index.ts';

type McpExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** The tool call an MCP request is: its signal, and progress notifications when the client asked. */
function toolCallOf(extra: McpExtra): ToolCall {
  const token = extra._meta?.progressToken;
  if (token === undefined) return { signal: extra.signal };
  // Progress must increase with every notification of a request; the count of reports does.
  let progress = 0;
  return {
    signal: extra.signal,
    reportProgress: async (message) => {
      progress += 1;
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, message },
      });
    },
  };
}

export function mcpRegistrar(server: McpServer): ToolRegistrar {
  return {
    registerTool(name, config, handler) {
      server.registerTool(
        name,
        {
          title: config.title,
          description: config.description,
          inputSchema: config.inputSchema as ZodRawShape,
          ...(config.outputSchema === undefined ? {} : { outputSchema: config.outputSchema as ZodRawShape }),
          annotations: config.annotations,
        },
        // The SDK has checked the arguments against inputSchema: they are the handler's input type.
        async (args: Record<string, unknown>, extra: McpExtra): Promise<CallToolResult> => {
          const result = await handler(args as Parameters<typeof handler>[0], toolCallOf(extra));
          // ToolResult is CallToolResult's text-only subset; the SDK's type adds an index signature.
          return { ...result, content: [...result.content] };
        },
      );
    },
  };
}
