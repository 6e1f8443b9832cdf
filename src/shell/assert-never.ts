/** Ends every exhaustive switch over AST node types: a new node type is a compile error here. */
export function assertNever(value: never): never {
  throw new Error(`unhandled shell node: ${JSON.stringify((value as { type?: unknown }).type)}`);
}
