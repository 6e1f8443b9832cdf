import { lit, type Model, type ModelContext } from '../model.ts';
import type { WordValue } from '../types.ts';

const NPM_INSTALLS =
  /^(install|i|in|ins|inst|insta|instal|isnt|isntall|add|ci|clean-install|install-clean|update|up|upgrade|udpate|dlx|create|init|exec|x|publish|link|ln|rebuild|rb|global|outdated|audit|pack|unpublish|deprecate|dist-tag|login|adduser|token|owner|access|team|org|star|stars|search|view|info|show|v|fund|doctor|ping|whoami|sbom)$/;

/** The first word that is not an option, skipping options that take a value. */
function subcommand(args: readonly WordValue[], valued: RegExp): { name: string | null; index: number } {
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

function words0(args: readonly WordValue[]): Array<string | null> {
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
  const { name } = subcommand(args, /^(-C|--prefix|--dir|-w|--workspace|--filter|--cwd|-F)$/);
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

/**
 * rustup's toolchain selector (`cargo +nightly …`, `cargo "+${MSRV}" …`): a first word that is
 * `+` and a name, literal or one quoted run-time value (which cannot split into more words).
 */
function isToolchain(word: WordValue | undefined): boolean {
  if (word === undefined) return false;
  const text = lit(word);
  if (text !== null) return text.startsWith('+');
  return word.kind === 'dynamic' && !word.split && /^\\?\+/.test(word.pattern ?? '');
}

export const cargo: Model = (ctx, wholeArgs) => {
  // The subcommand follows the toolchain: `cargo +nightly publish` is judged as `cargo publish`.
  const toolchain = isToolchain(wholeArgs[0]);
  const args = toolchain ? wholeArgs.slice(1) : wholeArgs;
  if (toolchain) ctx.setExecArgv(['cargo', ...args.map(lit)]);
  const { name } = subcommand(args, /^(--manifest-path|-Z|--color|--config|-C)$/);
  // After `--` the words are the tool's or the program's (`cargo fmt -- --config …` is rustfmt's).
  const end = args.findIndex((a) => lit(a) === '--');
  const own = end < 0 ? args : args.slice(0, end);
  if (own.some((a) => /^--config/.test(lit(a) ?? '')))
    ctx.hazard('opaque-option', 'cargo --config can set runner commands');
  if (name !== null && /^(install|publish|login|owner|yank|search|add|update|fetch|uninstall)$/.test(name)) {
    ctx.net('registry:crates');
    if (name === 'install') ctx.code('rust-package', 'unknown', null);
  }
};

export const go: Model = (ctx, args) => {
  ctx.generic(args.filter((w) => /^[~/]|^\.\.\//.test(lit(w) ?? '/')));
  const { name } = subcommand(args, /^(-C)$/);
  if (name !== null && /^(get|install|mod)$/.test(name)) ctx.net('registry:go');
  if (name === 'run') ctx.code('go', 'file', null);
  if (args.some((a) => /^-(toolexec|exec)(=|$)/.test(lit(a) ?? '')))
    ctx.hazard('opaque-option', 'go -toolexec/-exec runs a program');
};

/**
 * make: runs the Makefile's recipes (workspace code, like `npm test`). `-f -` reads a makefile from
 * stdin, `--eval` adds rules inline and `VAR=value` overrides can change any recipe's commands.
 */
export const make: Model = (ctx, args) => {
  ctx.generic(args.filter((w) => /^[~/]|^\.\.\//.test(lit(w) ?? '/')));
  for (let i = 0; i < args.length; i++) {
    const text = lit(args[i]);
    if (text === null) {
      // `-j$(nproc)`: an option with a run-time value; anything else may be a makefile variable or -f.
      const raw = args[i]?.kind === 'dynamic' ? (args[i] as { text: string }).text : '';
      if (!/^-[jlO]/.test(raw)) ctx.hazard('argument-injection', 'make with a run-time argument');
      continue;
    }
    if (text === '-f' || text === '--file' || text === '--makefile') {
      const file = args[i + 1];
      i++;
      if (!file || lit(file) === '-') {
        ctx.code('make', 'stdin', ctx.stdinText);
        ctx.hazard('unseen-code', 'make reads a makefile from its input');
      } else {
        ctx.read(file);
        // A makefile from outside the workspace is code the project does not own.
        const ref = ctx.resolve(file);
        if (ref.pattern === null || !ref.pattern.startsWith('./')) ctx.code('make', 'file', null);
      }
      continue;
    }
    if (/^-f./.test(text) || /^--(file|makefile)=/.test(text)) {
      const value = text.replace(/^-f|^--(file|makefile)=/, '');
      if (value === '-') ctx.hazard('unseen-code', 'make reads a makefile from its input');
      continue;
    }
    if (/^(-E|--eval)/.test(text)) {
      // --eval writes recipes (shell commands) on the command line: GNU make's escape hatch.
      ctx.hazard('escape-hatch', 'make --eval adds recipes that run shell commands', 'deny');
      if (text === '-E' || text === '--eval') i++;
      continue;
    }
    if (/^(-C|--directory|-I|--include-dir|-o|--old-file|-W|--what-if|--assume-new|-j|-l|-O)$/.test(text)) {
      if (!/^(-j|-l|-O)$/.test(text)) i++;
      continue;
    }
    if (!text.startsWith('-') && /^(SHELL|MAKESHELL|\.SHELLFLAGS)\+?:?=/.test(text)) {
      // Other overrides change recipes, which run contained like the makefile; SHELL swaps the shell.
      ctx.hazard('opaque-option', `make ${text.split('=')[0]}=… changes the shell every recipe runs in`);
    }
  }
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

/** rustc/cargo `-C linker=…` and friends run another program. */
export const rustc: Model = (ctx, args) => {
  args.forEach((word, index) => {
    const text = lit(word) ?? '';
    const next = lit(args[index + 1]) ?? '';
    const codegen = text.startsWith('-C') ? (text.length > 2 ? text.slice(2) : next) : '';
    if (/^(linker|link-arg|link-args|llvm-args|passes)=/.test(codegen) || text.startsWith('--codegen')) {
      ctx.hazard('opaque-option', 'rustc -C linker/link-arg runs another program');
    }
  });
  ctx.generic(args.filter((w) => /^[~/]|^\.\.\//.test(lit(w) ?? '/')));
};

/**
 * cmake: configuring and building run the project's own code (contained); `-P FILE` runs a cmake
 * script; `-E` runs one of cmake's portable commands, of which `env`, `chdir` and
 * `time` run another program (judged as that program).
 */
export const cmake: Model = (ctx, args) => {
  const first = lit(args[0]);
  if (first === '-E') {
    const [tool, ...rest] = args.slice(1);
    const name = lit(tool);
    if (name === 'env') {
      const command = rest.filter(
        (w, i) =>
          !(
            /^[A-Za-z_]\w*=|^--?(unset|modify)/.test(lit(w) ?? '') &&
            rest.slice(0, i).every((p) => /^[A-Za-z_]\w*=|^--?(unset|modify)/.test(lit(p) ?? ''))
          ),
      );
      if (command.length > 0) ctx.run(command);
    } else if (name === 'chdir') {
      if (rest[0]) ctx.read(rest[0]);
      if (rest.length > 1) ctx.run(rest.slice(1));
    } else if (name === 'time') {
      if (rest.length > 0) ctx.run(rest);
    } else if (name !== null && /^(rm|remove|remove_directory)$/.test(name)) {
      for (const w of rest)
        if (!(lit(w) ?? '').startsWith('-')) {
          ctx.remove(w);
          ctx.pathEffect('delete', w, '**');
        }
    } else if (
      name !== null &&
      /^(copy|copy_directory|copy_if_different|rename|create_symlink|create_hardlink)$/.test(name)
    ) {
      const operands = rest.filter((w) => !(lit(w) ?? '').startsWith('-'));
      for (const w of operands.slice(0, -1)) ctx.read(w);
      const dest = operands.at(-1);
      if (dest) ctx.write(dest);
    } else if (name !== null && /^(make_directory|touch|touch_nocreate)$/.test(name)) {
      for (const w of rest) ctx.write(w);
    } else if (name === null)
      ctx.hazard('dynamic-command-name', 'cmake -E with a command only known at run time');
    else ctx.generic(rest);
    return;
  }
  for (let i = 0; i < args.length; i++) {
    const text = lit(args[i]);
    if (text === '-P' && args[i + 1]) {
      ctx.read(args[i + 1] as WordValue);
      ctx.code('cmake', 'file', null);
      i++;
    }
  }
};

/** tox builds environments and installs packages into them, unless told to skip installing. */
export const tox: Model = (ctx, args) => {
  const words = args.map(lit);
  if (words.some((w) => w === '--skip-pkg-install' || w === '--version' || w === '-l' || w === '--listenvs'))
    return;
  ctx.net('registry:pypi');
};

/** rustup: installing toolchains, targets and components downloads them. */
export const rustup: Model = (ctx, args) => {
  const words = args.map(lit).filter((w) => w === null || !w.startsWith('-'));
  if (words.some((w) => w !== null && /^(install|update|add|toolchain|target|component|self)$/.test(w))) {
    if (words.some((w) => w !== null && /^(install|update|add)$/.test(w))) ctx.net(null);
  }
};

/** gem, bundle and system package managers: installing fetches packages; they change the system too. */
export const systemPackages: Model = (ctx, args) => {
  const words = args.map(lit);
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
