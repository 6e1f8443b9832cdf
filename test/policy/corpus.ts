import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface CorpusEntry {
  readonly cmd: string;
  readonly expected?: string;
  readonly technique?: string;
}

/** `../shared/corpus` relative to the repository (CI checks shared/ out beside the clone). */
export const corpusDir = resolve(import.meta.dirname, '../../../shared/corpus');

export function readCorpus(name: 'evasions' | 'benign'): CorpusEntry[] {
  const file = resolve(corpusDir, `${name}.jsonl`);
  if (!existsSync(file))
    throw new Error(`the policy corpus gate needs ${file} (../shared/corpus beside the clone)`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CorpusEntry);
}
