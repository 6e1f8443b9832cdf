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
      /^--(script-shell|shell|node-options|userconfig|globalconfig|prefix|cwd|dir|init-module|onload-script)(=|$)/.test(
        text,
      )
    ) {
      ctx.hazard('opaque-option', `${ctx.program} ${text.split('=')[0] ?? text} changes what runs`);
    }
  }
  if (name === null) return;
  if (NPM_INSTALLS.test(name)) {
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
    // A package spec with a version or scope-path, or a URL/tarball, is fetched.
    if (/@[\w^~.-]*\d|^(https?:|git[+:]|file:)|\.tgz$|\//.test(text.replace(/^@[^/]+\//, ''))) {
      ctx.net('registry:npm');
      ctx.code('npm-package', 'unknown', null);
    }
    return;
  }
};

const PIP_NET = /^(install|download|wheel|index|search)$/;

export const pip: Model = (ctx, args) => {
  const { name, index } = subcommand(
    args,
    /^(--python|--cache-dir|--log|--proxy|--retries|--timeout|--exists-action|--trusted-host|--cert|--client-cert|-i|--index-url|--extra-index-url)$/,
  );
  if (name === null) return;
  if (PIP_NET.test(name) || (ctx.program === 'uv' && /^(add|sync|lock|pip|tool|run)$/.test(name))) {
    ctx.net('registry:pypi');
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

export const cargo: Model = (ctx, args) => {
  const { name } = subcommand(args, /^(--manifest-path|-Z|--color|--config|-C)$/);
  if (args.some((a) => /^--config/.test(lit(a) ?? '')))
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
      ctx.hazard('argument-injection', 'make with a run-time argument');
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
      ctx.code('make', 'inline', null);
      ctx.hazard('unseen-code', 'make --eval adds rules inline');
      if (text === '-E' || text === '--eval') i++;
      continue;
    }
    if (/^(-C|--directory|-I|--include-dir|-o|--old-file|-W|--what-if|--assume-new|-j|-l|-O)$/.test(text)) {
      if (!/^(-j|-l|-O)$/.test(text)) i++;
      continue;
    }
    if (!text.startsWith('-') && /^[A-Za-z_][\w.]*\+?:?=/.test(text)) {
      ctx.hazard('opaque-option', `make ${text.split('=')[0]}=… overrides a variable the recipes use`);
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
  for (const word of args) {
    const text = lit(word);
    if (text === null) continue;
    if (/^(-p|-c|--rootdir|--confcutdir|--override-ini|-o)(=|$)|^-p./.test(text)) {
      ctx.hazard('opaque-option', `pytest ${text} loads code or configuration from elsewhere`);
    }
  }
  ctx.generic(args.filter((w) => !(lit(w) ?? '').startsWith('-')));
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
