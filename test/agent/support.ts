/**
 * What the end-to-end agent suites share: a state directory with an airlock.yaml, the scripted model
 * server, and `airlock agent run` as its own process against both, on the real bwrap sandbox.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { AgentEvent } from '../../src/agent/index.ts';
// test/cli is not the src/cli stage the rule guards: its process helper is test support.
// eslint-disable-next-line no-restricted-imports
import { newHome, startCli } from '../cli/cli-process.ts';
// eslint-disable-next-line no-restricted-imports
import type { CliProcess } from '../cli/cli-process.ts';
import { startModelServer } from '../support/model-server.ts';
import type { ModelServer, ScriptStep } from '../support/model-server.ts';

// eslint-disable-next-line no-restricted-imports
export { bwrapMissing, newHome, runCliProcess, startCli } from '../cli/cli-process.ts';

export const MODEL_KEY = 'sk-e2e-model-key-9f8e7d6c5b4a3210';

const servers: ModelServer[] = [];
const processes: CliProcess[] = [];
afterEach(async () => {
  for (const cli of processes.splice(0)) {
    if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
  }
  for (const server of servers.splice(0)) await server.close();
});

export async function scripted(script: readonly ScriptStep[]): Promise<ModelServer> {
  const server = await startModelServer(script);
  servers.push(server);
  return server;
}

/** A state directory whose airlock.yaml is `yaml` (approvals only where a test asks for them). */
export function agentHome(yaml = 'router:\n  approvalRequiredFor: []\n  rateLimit: 1000/min\n'): string {
  const home = newHome();
  writeFileSync(join(home, 'airlock.yaml'), yaml);
  return home;
}

/** `airlock agent run …` in its own process, the model key in its environment as a user would have it. */
export function startAgent(args: string[], home: string, env: Record<string, string> = {}): CliProcess {
  const cli = startCli(['agent', 'run', ...args], home, '', { OPENAI_API_KEY: MODEL_KEY, ...env });
  processes.push(cli);
  return cli;
}

/** The events of a --json run. */
export function jsonEvents(stdout: string): AgentEvent[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AgentEvent);
}
