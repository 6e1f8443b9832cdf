/** Test helper: the same tree-sitter wasm bytes the CLI loads (the grammar's native install never runs). */
export { loadTreeSitterWasm as treeSitterWasm } from '../../src/cli/policy-source.ts';
