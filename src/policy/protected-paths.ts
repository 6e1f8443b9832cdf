import { globToRegExp, tokenizeGlob } from '../shell/index.ts';

/**
 * Credential and secret stores, as canonical path globs (`./x` workspace, `~/x` home, `/x` elsewhere;
 * `**` any depth). Reading one is refused whatever the session. The router also uses this list to
 * find secret files when a workspace is copied in, so their values are redacted from every output.
 */
export const SECRET_PATH_PATTERNS: readonly string[] = Object.freeze([
  '~/.ssh/**',
  '~/.aws/**',
  '~/.gnupg/**',
  '~/.docker/config.json',
  '~/.kube/**',
  '~/.netrc',
  '~/.npmrc',
  '~/.pypirc',
  '~/.git-credentials',
  '~/.config/{gh,gcloud,hub,op}/**',
  '~/.azure/**',
  '~/.oci/**',
  '~/.password-store/**',
  '~/.local/share/keyrings/**',
  '**/.env',
  '**/.env.{local,production,prod,development,dev,staging,test}',
  '**/.env.*.local',
  '**/.netrc',
  '**/id_{rsa,dsa,ecdsa,ed25519}',
  '**/*.{pem,p12,pfx,key,keystore,jks}',
  '**/.git-credentials',
  '**/credentials.json',
  '/proc/*/environ',
  '/proc/*/mem',
  '/etc/{shadow,gshadow,sudoers}',
  '/run/secrets/**',
]);

/**
 * Files a person inherits when the workspace is copied back and that run code on their machine:
 * agent and editor configuration, git hooks, CI workflows, build scripts and their configuration.
 * Changing them from inside the sandbox asks a person (agent configuration and hooks are refused).
 */
export const INHERITED_PATH_PATTERNS: readonly string[] = Object.freeze([
  '**/package.json',
  '**/{Makefile,makefile,GNUmakefile,*.mk}',
  '**/{conftest.py,pytest.ini,tox.ini,noxfile.py,setup.py,setup.cfg,pyproject.toml,sitecustomize.py,usercustomize.py}',
  '**/*.pth',
  '**/{Cargo.toml,build.rs}',
  // A toolchain file may name a toolchain `path`: cargo then runs the binaries found there.
  '**/{rust-toolchain,rust-toolchain.toml}',
  '**/.cargo/**',
  '**/{.npmrc,.yarnrc,.yarnrc.yml,.pnpmfile.cjs,.envrc}',
  '**/*.config.{js,cjs,mjs,ts,mts,cts}',
  '**/.husky/**',
  '**/.pre-commit-config.yaml',
  '**/.github/workflows/**',
  '**/.gitlab-ci.yml',
  '**/.gitattributes',
  '**/.gitmodules',
]);

function expand(pattern: string): string[] {
  const match = /\{([^{}]*,[^{}]*)\}/.exec(pattern);
  if (!match) return [pattern];
  const before = pattern.slice(0, match.index);
  const after = pattern.slice(match.index + match[0].length);
  return (match[1] ?? '').split(',').flatMap((alt) => expand(before + alt + after));
}

/**
 * Compiled once when the module loads (the patterns are constants; the expressions have no `g` flag, so
 * they hold no state): compiling them on every call made checking each entry of a 10,000-file archive
 * the largest cost of copying it.
 */
const SECRET_PATH_REGEXPS: readonly RegExp[] = Object.freeze(
  SECRET_PATH_PATTERNS.flatMap(expand).map((glob) => globToRegExp(tokenizeGlob(glob))),
);

/**
 * All of them as one alternation (each is anchored and has the same flags): one match per path instead
 * of one per pattern, which was most of the time spent checking each entry of a 10,000-file copy.
 */
const ANY_SECRET_PATH = new RegExp(
  SECRET_PATH_REGEXPS.map((regex) => `(?:${regex.source})`).join('|'),
  SECRET_PATH_REGEXPS[0]?.flags ?? 'u',
);

/** Is this canonical path (`./.env`, `~/.ssh/id_rsa`) a secret store by name? */
export function isSecretPath(path: string): boolean {
  return ANY_SECRET_PATH.test(path);
}
