import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Test helper: the tree-sitter wasm bytes from node_modules (the grammar's native install never runs). */
export async function treeSitterWasm(): Promise<{ grammarWasm: Uint8Array; runtimeWasm: Uint8Array }> {
  const require = createRequire(import.meta.url);
  const grammarDir = dirname(require.resolve('tree-sitter-bash/package.json'));
  return {
    grammarWasm: await readFile(join(grammarDir, 'tree-sitter-bash.wasm')),
    runtimeWasm: await readFile(require.resolve('web-tree-sitter/tree-sitter.wasm')),
  };
}
