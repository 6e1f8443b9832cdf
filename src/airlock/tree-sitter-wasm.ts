import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Reads the tree-sitter wasm files shipped in node_modules (the grammar's native install script never runs). */
export async function loadTreeSitterWasm(): Promise<{ grammarWasm: Uint8Array; runtimeWasm: Uint8Array }> {
  const require = createRequire(import.meta.url);
  const grammarDir = dirname(require.resolve('tree-sitter-bash/package.json'));
  const [grammarWasm, runtimeWasm] = await Promise.all([
    readFile(join(grammarDir, 'tree-sitter-bash.wasm')),
    readFile(require.resolve('web-tree-sitter/tree-sitter.wasm')),
  ]);
  return { grammarWasm, runtimeWasm };
}
