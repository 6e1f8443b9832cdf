/** Where a session's workspace is inside its sandbox, and a sandbox path's place below it. */
export const WORKSPACE = '/workspace';

/** The path below /workspace a sandbox path names, or null outside it. */
export function underWorkspace(path: string): string | null {
  if (path === WORKSPACE) return '';
  return path.startsWith(`${WORKSPACE}/`) ? path.slice(WORKSPACE.length + 1) : null;
}
