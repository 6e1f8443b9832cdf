/**
 * The inference stage: a model drives Airlock's tools (the same ones MCP clients get) through the
 * router, in a session of its own, with its calls, steps and outcome in the audit log. Providers go
 * through their official SDKs: OpenAI-compatible chat completions (OpenAI, llama.cpp, vLLM, Ollama)
 * and Anthropic's Messages API.
 */
export { createAgents } from './run-agent.ts';
export type { AgentHost, Agents } from './run-agent.ts';
export type { AgentRunOptions } from './run-options.ts';
export type { WorkspaceOptions } from './workspace.ts';
export { agentRunStatuses } from './events.ts';
export type {
  AgentEvent,
  AgentEventType,
  AgentRunStatus,
  AgentSummary,
  AgentTokens,
  ToolCallView,
} from './events.ts';
