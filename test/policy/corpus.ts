import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_CAPABILITIES, type SessionCapabilities } from '../../src/policy/index.ts';

export interface CorpusEntry {
  readonly cmd: string;
  /** Everyday commands: `allow` (stays inside the sandbox) or `ask` (crosses its boundary). */
  readonly expected?: string;
  readonly technique?: string;
  /** Attacks only: `with-secrets` when the attack needs a session that holds secrets to steal. */
  readonly session?: string;
  readonly source: string;
}

export type CorpusName = 'evasions' | 'benign' | 'benign-heldout' | 'benign-heldout-2' | 'benign-heldout-3';

/** The corpora live in the repository (`test/corpus/`), each entry with its source. */
export const corpusDir = resolve(import.meta.dirname, '../corpus');

export function readCorpus(name: CorpusName): CorpusEntry[] {
  const file = resolve(corpusDir, `${name}.jsonl`);
  if (!existsSync(file)) throw new Error(`the policy corpus gate needs ${file}`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CorpusEntry);
}

/**
 * The session everyday commands are judged in: today's sandbox, where a person can grant network
 * (so a command that needs it asks rather than being refused), with no secrets in the workspace.
 */
export const EVERYDAY_SESSION: SessionCapabilities = Object.freeze({
  ...DEFAULT_CAPABILITIES,
  network: Object.freeze({ ...DEFAULT_CAPABILITIES.network, mode: 'ask' as const }),
});

/**
 * The session attacks are judged in: the same, with something to steal (a `.env` in the workspace
 * and a secret variable), so that reading secrets sideways is an attack and not a harmless read.
 */
export const SESSION_WITH_SECRETS: SessionCapabilities = Object.freeze({
  ...EVERYDAY_SESSION,
  secrets: Object.freeze({ envNames: Object.freeze(['API_TOKEN']), files: Object.freeze(['.env']) }),
});
