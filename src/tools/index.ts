/**
 * Airlock's tools, one definition for every surface: run_command, command_status, kill_command,
 * read_output, check_command, write_file, read_file, list_files and session_info. The MCP server
 * offers them to MCP clients; the agent loop offers them to its model. Each surface implements
 * `ToolRegistrar` and says how long a call may wait (`ToolContext`).
 */
export { registerAirlockTools } from './catalogue.ts';
export { MAX_PAGE_CHARS } from './command-tools.ts';
export { MAX_READ_FILE_BYTES } from './file-tools.ts';
export { createToolGuard } from './guard.ts';
export type {
  ToolAnnotations,
  ToolCall,
  ToolConfig,
  ToolHandler,
  ToolRegistrar,
  ToolResult,
  ToolShape,
} from './registrar.ts';
export { boundSession, lazySession } from './session-provider.ts';
export type { SessionProvider } from './session-provider.ts';
export type { ToolContext } from './tool-context.ts';
export { errorResult } from './tool-results.ts';
