/** The HTTP API surface: `createServer({ airlock, adminToken })`, and the tokens it authenticates with. */
export { createServer } from './create-server.ts';
export type { AirlockServer, McpHttpHandler, ServerOptions } from './create-server.ts';
export { ADMIN_TOKEN_FILE, createTokenRegistry, loadOrCreateAdminToken, readAdminToken } from './tokens.ts';
export type { AdminToken, Principal, TokenRegistry } from './tokens.ts';
