/**
 * What the MCP suites share: a state directory with an airlock.yaml, the official MCP client, and
 * helpers to read a tool result the way a model or a program would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import type { SessionRecord, Store } from '../../src/store/index.ts';

/**
 * `touch` waits for a person (so approvals are quick to test and harmless to run); outputs are cut at
 * the smallest size allowed, so paging is easy to reach; the rate limit stays out of the way.
 */
export const testConfigYaml = `router:
  approvalRequiredFor: ['touch']
  output: { maxChars: 200 }
  rateLimit: 1000/min
`;

const homes: string[] = [];
afterAll(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** A state directory with the test airlock.yaml in it, removed after the file's tests. */
export function mcpHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'airlock-mcp-test-'));
  writeFileSync(join(home, 'airlock.yaml'), testConfigYaml);
  homes.push(home);
  return home;
}

/** One tool call, as a model's client makes it. */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
  options?: RequestOptions,
): Promise<CallToolResult> {
  const result = await client.callTool({ name, arguments: args }, undefined, options);
  if (!('content' in result)) throw new Error(`${name} answered in the pre-2024 result format`);
  return result as CallToolResult;
}

export function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : `[${part.type}]`)).join('\n');
}

export function factsOf(result: CallToolResult): Record<string, unknown> {
  if (result.structuredContent === undefined) throw new Error(`no structured content in ${textOf(result)}`);
  return result.structuredContent;
}

/** Reads the store the way `airlock audit` does: the file alone, no control plane (no crash recovery). */
async function withStore<T>(home: string, read: (store: Store) => Promise<T>): Promise<T> {
  const store = openStore({ kind: 'sqlite', path: join(home, 'airlock.db') }, { baseDir: home });
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}

export function storedSession(home: string, sessionId: string): Promise<SessionRecord | null> {
  return withStore(home, (store) => store.getSession(sessionId));
}

export function storedSessions(home: string): Promise<SessionRecord[]> {
  return withStore(home, (store) => store.listSessions());
}

/** The approval id a progress message or a result names. */
export function approvalIdIn(text: string): string | null {
  return /apr_[0-9a-f]{24}/.exec(text)?.[0] ?? null;
}
