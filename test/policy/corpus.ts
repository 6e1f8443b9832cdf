import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface CorpusEntry {
  readonly cmd: string;
  readonly expected?: string;
  readonly technique?: string;
  readonly source: string;
}

/** The corpora live in the repository (`test/corpus/`), each entry with its source. */
export const corpusDir = resolve(import.meta.dirname, '../corpus');

export function readCorpus(name: 'evasions' | 'benign'): CorpusEntry[] {
  const file = resolve(corpusDir, `${name}.jsonl`);
  if (!existsSync(file)) throw new Error(`the policy corpus gate needs ${file}`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CorpusEntry);
}
