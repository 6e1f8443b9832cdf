import { sandboxUser } from './etc-files.ts';

export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The environment a command sees: defaults, then the spec's grants, then the call's own. */
export function commandEnvironment(
  specEnv: Readonly<Record<string, string>>,
  execEnv: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return { PATH: defaultPath, HOME: sandboxUser.home, LANG: 'C.UTF-8', ...specEnv, ...execEnv };
}
