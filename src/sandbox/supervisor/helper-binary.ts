import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The static airlock-helper (launcher and in-sandbox supervisor) built by `npm ci` (postinstall). */
export const defaultHelperPath = fileURLToPath(new URL('../../../build/airlock-helper', import.meta.url));

/** What to tell someone whose helper binary is missing. */
export function helperMissingMessage(helperPath: string): string {
  return `the sandbox helper ${helperPath} is not built: install gcc and libc6-dev, then run npm run build:helper`;
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
