/**
 * The agent's side of the shared tools: it registers Airlock's tools the way the MCP server does,
 * tells the model of them with the same JSON Schema an MCP client lists, and runs the model's calls,
 * checking the arguments with the same schema first. A malformed call is a result the model reads,
 * never a crash.
 */
import { z } from 'zod';
import { errorResult, registerAirlockTools } from '../tools/index.ts';
import type { ToolCall, ToolContext, ToolRegistrar, ToolResult, ToolShape } from '../tools/index.ts';
import type { ToolCallRequest } from './conversation.ts';
import type { ToolSpec } from './provider.ts';

interface Registered {
  readonly spec: ToolSpec;
  readonly input: z.ZodType;
  readonly run: (args: unknown, call: ToolCall) => Promise<ToolResult>;
}

export interface ToolBox {
  readonly specs: readonly ToolSpec[];
  /** Characters of the tool definitions, which every model call carries. */
  readonly definitionChars: number;
  invoke(request: ToolCallRequest, call: ToolCall): Promise<ToolResult>;
}

/**
 * The JSON Schema the MCP SDK lists for a tool's input (draft 7, the input side), less `$schema`,
 * which some OpenAI-compatible servers refuse in function parameters.
 */
export function inputJsonSchema(shape: ToolShape): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(z.object({ ...shape }), {
    target: 'draft-7',
    io: 'input',
  }) as Record<string, unknown>;
  return schema;
}

function issuesText(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length === 0 ? 'arguments' : issue.path.join('.')}: ${issue.message}`)
    .join('; ');
}

export function createToolBox(context: ToolContext): ToolBox {
  const tools = new Map<string, Registered>();
  const registrar: ToolRegistrar = {
    registerTool(name, config, handler) {
      tools.set(name, {
        spec: { name, description: config.description, inputSchema: inputJsonSchema(config.inputSchema) },
        input: z.object({ ...config.inputSchema }),
        run: (args, call) => handler(args as Parameters<typeof handler>[0], call),
      });
    },
  };
  registerAirlockTools(registrar, context);
  const specs = [...tools.values()].map((tool) => tool.spec);
  const definitionChars = JSON.stringify(specs).length;

  async function invoke(request: ToolCallRequest, call: ToolCall): Promise<ToolResult> {
    const tool = tools.get(request.name);
    if (tool === undefined) {
      return errorResult(
        {
          code: 'INVALID_ARGUMENT',
          message: `there is no tool ${JSON.stringify(request.name).slice(0, 100)}`,
        },
        `The tools are: ${[...tools.keys()].join(', ')}.`,
      );
    }
    let args: unknown;
    try {
      args = JSON.parse(request.arguments);
    } catch {
      return errorResult(
        { code: 'INVALID_ARGUMENT', message: `the arguments of ${request.name} are not valid JSON` },
        'Send them as one JSON object, e.g. {"command": "ls -la"}.',
      );
    }
    const parsed = tool.input.safeParse(args);
    if (!parsed.success) {
      return errorResult({
        code: 'INVALID_ARGUMENT',
        message: `bad arguments for ${request.name}: ${issuesText(parsed.error)}`,
      });
    }
    // Each tool guards its own work: a failure comes back as a result, never as an exception.
    return tool.run(parsed.data, call);
  }

  return { specs, definitionChars, invoke };
}
