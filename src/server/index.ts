/** The HTTP API surface: `createServer({ airlock, adminToken })`, and the tokens it authenticates with. */
export { createServer } from './create-server.ts';
export type { AgentPrincipal, AirlockServer, McpHttpHandler, ServerOptions } from './create-server.ts';
export { CSRF_HEADER, SESSION_COOKIE } from './web-sessions.ts';
export { DASHBOARD_CSP } from './dashboard.ts';
export { ADMIN_TOKEN_FILE, createTokenRegistry, loadOrCreateAdminToken, readAdminToken } from './tokens.ts';
export type { AdminToken, Principal, TokenRegistry } from './tokens.ts';
