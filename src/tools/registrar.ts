/**
 * What a tool is, independent of the surface that offers it. The MCP server and the agent loop each
 * implement `ToolRegistrar`: the MCP server forwards every tool to the official SDK, the agent loop
 * collects them for its model. The tools register themselves the same way on both, so a model sees
 * the same names, descriptions, input schemas and results on every surface.
 */
import type { z } from 'zod';

/** Zod fields of a tool's input or output object: the form the MCP SDK takes and lists as JSON Schema. */
export type ToolShape = Readonly<Record<string, z.ZodType>>;

/** Hints for clients (MCP's tool annotations); they change nothing Airlock enforces. */
export interface ToolAnnotations {
  readonly title?: string;
  readonly readOnlyHint?: boolean;
  readonly destructiveHint?: boolean;
  readonly idempotentHint?: boolean;
  readonly openWorldHint?: boolean;
}

export interface ToolConfig<Input extends ToolShape> {
  readonly title: string;
  readonly description: string;
  readonly inputSchema: Input;
  readonly outputSchema?: ToolShape;
  readonly annotations: ToolAnnotations;
}

/** One call's circumstances: when it is cancelled, and (when the caller listens) where progress goes. */
export interface ToolCall {
  /** Aborted when the caller gives up on this call (an MCP cancellation, an agent run ending). */
  readonly signal: AbortSignal;
  /** Sends a progress line to whoever made the call; absent when nobody listens. */
  readonly reportProgress?: (message: string) => Promise<void>;
}

/**
 * What a tool answers: text the model reads, plus the facts behind it for programs. Shaped like MCP's
 * CallToolResult (which it is assignable to); `isError` marks a call that could not be carried out.
 */
export interface ToolResult {
  readonly content: Array<{ readonly type: 'text'; readonly text: string }>;
  readonly structuredContent?: Record<string, unknown>;
  readonly isError?: boolean;
  readonly _meta?: Record<string, unknown>;
}

export type ToolHandler<Input extends ToolShape> = (
  args: z.output<z.ZodObject<{ -readonly [K in keyof Input]: Input[K] }>>,
  call: ToolCall,
) => Promise<ToolResult>;

export interface ToolRegistrar {
  registerTool<Input extends ToolShape>(
    name: string,
    config: ToolConfig<Input>,
    handler: ToolHandler<Input>,
  ): void;
}
