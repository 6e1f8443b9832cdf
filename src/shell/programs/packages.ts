import { lit, type Model, type ModelContext } from '../model.ts';
import type { WordValue } from '../types.ts';

const NPM_INSTALLS =
  /^(install|i|in|ins|inst|insta|instal|isnt|isntall|add|ci|clean-install|install-clean|update|up|upgrade|udpate|dlx|create|init|exec|x|publish|link|ln|rebuild|rb|global|outdated|audit|pack|unpublish|deprecate|dist-tag|login|adduser|token|owner|access|team|org|star|stars|search|view|info|show|v|fund|doctor|ping|whoami|sbom)$/;

/** The first word that is not an option, skipping options that take a value. */
export function subcommand(
  args: readonly WordValue[],
  valued: RegExp,
): { name: string | null; index: number } {
  for (let i = 0; i < args.length; i++) {
    const text = lit(args[i]);
    if (text === null) return { name: null, index: i };
    if (text === '--') return { name: lit(args[i + 1]), index: i + 1 };
    if (text.startsWith('-')) {
      if (valued.test(text) && !text.includes('=')) i++;
      continue;
    }
    return { name: text, index: i };
  }
  return { name: null, index: args.length };
}

export function words0(args: readonly WordValue[]): Array<string | null> {
  return args.map(lit);
}

/**
 * `npm pack` of the project itself (no argument, or local directories): packs the workspace without
 * the registry. A package name or spec (`npm pack left-pad@1`) is fetched from the registry.
 */
function packsLocalOnly(args: readonly WordValue[]): boolean {
  const words = words0(args);
  const at = words.indexOf('pack');
  return words
    .slice(at + 1)
    .every((text) => text !== null && (text.startsWith('-') || /^(\.{1,2}|\.{1,2}\/.*|\/.*)$/.test(text)));
}

/**
 * npm, pnpm, yarn, bun: installs and package runners fetch and run code from a registry (install
 * scripts, bin entries). `run`/`test` run the project's own scripts, which the workspace defines.
 */
export const npm: Model = (ctx, args) => {
  const { name, index } = subcommand(args, /^(-C|--prefix|--dir|-w|--workspace|--filter|--cwd|-F)$/);
  if (args.some((a) => /^(-g|--global|--location=global)$/.test(lit(a) ?? ''))) {
    ctx.hazard('privilege', `${ctx.program} changes globally installed packages`);
  }
  ctx.generic(args.filter((w) => /^[~/]|^\.\.\//.test(lit(w) ?? '/')));
  for (const word of args) {
    // Options that swap the shell scripts run in, or load other configuration or node options.
    const text = lit(word) ?? '';
    if (
      /^--(script-shell|shell|node-options|userconfig|globalconfig|init-module|onload-script)(=|$)/.test(text)
    ) {
      ctx.hazard('opaque-option', `${ctx.program} ${text.split('=')[0] ?? text} changes what runs`);
    }
  }
  if (name === null) {
    // Bare `yarn` is `yarn install`; bare npm, pnpm and bun only print their help.
    if (
      ctx.program === 'yarn' &&
      !words0(args).some((t) => t === null || /^(-v|--version|-h|--help)$/.test(t))
    )
      ctx.net('registry:npm');
    return;
  }
  // `pnpm playwright install`, `npm exec playwright install`: downloads browsers.
  const words = args.map(lit);
  const playwright = words.indexOf('playwright');
  if (playwright >= 0 && words[playwright + 1] === 'install') ctx.net(null);
  // `pnpm exec CMD`: runs CMD with the project's node_modules/.bin on PATH and never downloads
  // (that is `pnpm dlx`), so CMD is judged as itself. Its own options (`-c` runs a shell string,
  // `-r` runs in every package) keep the old judgement.
  if (ctx.program === 'pnpm' && name === 'exec' && !(words[index + 1] ?? '-').startsWith('-')) {
    ctx.run(args.slice(index + 1));
    return;
  }
  if (NPM_INSTALLS.test(name) && !(name === 'pack' && packsLocalOnly(args))) {
    ctx.net('registry:npm');
    if (/^(exec|x|dlx|create|init)$/.test(name)) ctx.code('npm-package', 'unknown', null);
  }
  if (name === 'config' || name === 'set') ctx.stateChange(`${ctx.program} config`);
  // `bun run file.ts`, `bun ./x.ts`: a script file.
  if (ctx.program === 'bun' && (/\.[cm]?[jt]sx?$/.test(name) || name === '-e' || name === '--eval')) {
    ctx.code('javascript', name.startsWith('-') ? 'inline' : 'file', null);
  }
};

/**
 * npx / pnpx / bunx / `pnpm dlx`: runs a package's binary, downloading it when it is not installed.
 * With `-y`/`--yes`/`-p` it always may; `-c` is a shell command.
 */
export const npx: Model = (ctx, args) => {
  ctx.generic(args.filter((w) => /^[~/]|^\.\.\//.test(lit(w) ?? '/')));
  for (let i = 0; i < args.length; i++) {
    const text = lit(args[i]);
    if (text === null) {
      ctx.hazard('dynamic-command-name', `${ctx.program} with a run-time package name`);
      return;
    }
    if (text === '-c' || text === '--call') {
      const command = args[i + 1];
      if (command) ctx.shell(command);
      return;
    }
    if (/^(-y|--yes|-p|--package)(=|$)/.test(text)) {
      ctx.net('registry:npm');
      ctx.code('npm-package', 'unknown', null);
      if (/^(-p|--package)$/.test(text)) i++;
      continue;
    }
    if (text.startsWith('-')) continue;
    // `npx playwright install` downloads browsers from wherever the installed playwright says.
    if (text === 'playwright' && lit(args[i + 1]) === 'install') ctx.net(null);
    // A package spec with a version or scope-path, or a URL/tarball, is fetched.
    if (/@[\w^~.-]*\d|^(https?:|git[+:]|file:)|\.tgz$|\//.test(text.replace(/^@[^/]+\//, ''))) {
      ctx.net('registry:npm');
      ctx.code('npm-package', 'unknown', null);
    }
    return;
  }
};

const PIP_NET = /^(install|download|wheel|index|search)$/;

/**
 * `pip install --no-index` (`uv pip install --no-index`, `--offline`) from local files: no index is
 * asked. Not when anything names a URL or a VCS, or a requirements or constraints file is read (its
 * lines may name URLs and indexes the command line does not show).
 */
function installsFromLocalFilesOnly(args: readonly WordValue[]): boolean {
  const words = words0(args);
  if (!words.includes('install') || !words.some((t) => t === '--no-index' || t === '--offline')) return false;
  return words.every(
    (text) =>
      text !== null &&
      !/:\/\/|^(git|hg|svn|bzr)\+|@/.test(text) &&
      !/^(-r|--requirement|-c|--constraint|-i|--index-url|--extra-index-url)(=|$)/.test(text),
  );
}

export const pip: Model = (ctx, args) => {
  const { name: sub, index } = subcommand(
    args,
    /^(--python|--cache-dir|--log|--proxy|--retries|--timeout|--exists-action|--trusted-host|--cert|--client-cert|-i|--index-url|--extra-index-url)$/,
  );
  const name = ctx.program === 'uvx' ? 'run' : sub;
  if (name === null) return;
  // `uv run` uses the project's environment as it is; sync, add, lock and tools fetch packages.
  // `uv python install` downloads a Python build.
  if (ctx.program === 'uv' && name === 'python' && lit(args[index + 1]) === 'install') ctx.net(null);
  if (
    ctx.program === 'uvx' ||
    PIP_NET.test(name) ||
    (ctx.program === 'uv' && /^(add|sync|lock|pip|tool)$/.test(name))
  ) {
    if (!installsFromLocalFilesOnly(args)) ctx.net('registry:pypi');
    // Installing from source runs the package's build backend.
    if (name === 'install' || ctx.program === 'uv' || ctx.program === 'pipx')
      ctx.code('python-package', 'unknown', null);
    const rest = args.slice(index + 1);
    for (let i = 0; i < rest.length; i++) {
      const text = lit(rest[i]);
      if (text === '-r' || text === '--requirement' || text === '-c' || text === '--constraint') {
        const file = rest[i + 1];
        if (file) ctx.read(file);
      }
    }
  }
  if (name === 'uninstall' || name === 'config') ctx.stateChange(`${ctx.program} ${name}`);
};

export const crontab: Model = (ctx, args) => {
  if (args.length === 1 && /^-l$/.test(lit(args[0]) ?? '')) return;
  ctx.stateChange('crontab');
};

/** Container runtimes start processes with their own mounts and network; bind mounts of host paths matter most. */
export const container: Model = (ctx: ModelContext, args) => {
  for (let i = 0; i < args.length; i++) {
    const text = lit(args[i]);
    if (text === null) continue;
    if (/^(-v|--volume|--mount)$/.test(text) || /^(--volume|--mount)=/.test(text) || /^-v./.test(text)) {
      ctx.hazard('privilege', `${ctx.program} mounts a host path into a container`);
    }
    if (text === '--privileged' || /^--(pid|network|net|ipc|userns)=host$/.test(text)) {
      ctx.hazard('privilege', `${ctx.program} ${text} weakens isolation`);
    }
  }
  ctx.net(null);
};

/** pytest loads plugins named by -p (any importable module) and configuration named by -c. */
export const pytest: Model = (ctx, args) => {
  // -p and -c load plugins and configuration: code that runs contained like the tests themselves.
  ctx.generic(args.filter((w) => !(lit(w) ?? '').startsWith('-') && !/::/.test(lit(w) ?? '')));
};

/** tox builds environments and installs packages into them, unless told to skip installing. */
export const tox: Model = (ctx, args) => {
  const words = args.map(lit);
  if (words.some((w) => w === '--skip-pkg-install' || w === '--version' || w === '-l' || w === '--listenvs'))
    return;
  ctx.net('registry:pypi');
};

/** gem, bundle and system package managers: installing fetches packages; they change the system too. */
export const systemPackages: Model = (ctx, args) => {
  const words = args.map(lit);
  // `bundle exec CMD` runs CMD with the bundle's gems on the load path; it installs nothing (a
  // missing gem is an error), so CMD is judged as itself. An option before CMD keeps the old judgement.
  if (/^bundler?$/.test(ctx.program) && words[0] === 'exec' && !(words[1] ?? '-').startsWith('-')) {
    ctx.run(args.slice(1));
    return;
  }
  if (
    words.some(
      (w) =>
        w !== null &&
        /^(install|i|update|upgrade|add|sync|fetch|download|exec|outdated|search|-S|-Sy|-Syu)$/.test(w),
    )
  ) {
    ctx.net(ctx.program === 'gem' || /^bundle/.test(ctx.program) ? 'registry:rubygems' : null);
  }
};
