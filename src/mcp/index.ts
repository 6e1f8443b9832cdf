/**
 * The MCP surface: Airlock's tools (run_command, command_status, kill_command, read_output,
 * write_file, read_file, list_files, session_info) over the official MCP SDK, on stdio (`airlock mcp`)
 * and streamable HTTP (the server's `/mcp`).
 */
export { createAirlockMcpServer } from './server.ts';
export type { AirlockMcpServer, AirlockMcpServerOptions } from './server.ts';
export { boundSession, lazySession } from '../tools/index.ts';
export type { SessionProvider } from '../tools/index.ts';
export { createMcpHttpEndpoint } from './http-endpoint.ts';
export type { McpHttpEndpoint, McpHttpEndpointOptions } from './http-endpoint.ts';
export type { McpPrincipal } from './http-session.ts';
