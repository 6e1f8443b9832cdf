import { lit, type Model } from '../model.ts';
import type { WordValue } from '../types.ts';
import { subcommand, words0 } from './packages.ts';

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

/**
 * `go install ./cmd/x` builds packages of the module in the workspace like `go build` and copies the
 * binaries into GOBIN: only `pkg@version` (or a remote import path) fetches from the module proxy.
 * Every package must be a literal relative path without `@`; build flags stay the build's.
 */
function installsLocalPackages(args: readonly WordValue[]): boolean {
  const words = words0(args);
  const packages = words.filter((w) => w === null || !w.startsWith('-'));
  return (
    packages.length > 0 &&
    packages.every((w) => w !== null && /^\.{1,2}(\/|$)/.test(w) && !w.includes('@')) &&
    !words.some((w) => w !== null && /^-(toolexec|exec|modfile|overlay)(=|$)/.test(w))
  );
}

export const go: Model = (ctx, args) => {
  ctx.generic(args.filter((w) => /^[~/]|^\.\.\//.test(lit(w) ?? '/')));
  const { name, index } = subcommand(args, /^(-C)$/);
  if (name === 'install' && installsLocalPackages(args.slice(index + 1))) return;
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

/** rustup: installing toolchains, targets and components downloads them. */
export const rustup: Model = (ctx, args) => {
  const words = args.map(lit).filter((w) => w === null || !w.startsWith('-'));
  if (words.some((w) => w !== null && /^(install|update|add|toolchain|target|component|self)$/.test(w))) {
    if (words.some((w) => w !== null && /^(install|update|add)$/.test(w))) ctx.net(null);
  }
};

/**
 * gradle (and a project's `./gradlew`): tasks run the build scripts inside the sandbox, like make.
 * Publishing tasks (`publish`, `publishPlugins`, `uploadArchives`) send artifacts to a repository
 * outside it; `publishToMavenLocal` only writes the local repository.
 */
export const gradle: Model = (ctx, args) => {
  for (const word of args) {
    const text = lit(word);
    if (text === null || text.startsWith('-')) continue;
    const task = text.split(':').at(-1) ?? text;
    if (/^(publish|upload)/.test(task) && !/ToMavenLocal$/.test(task)) {
      ctx.net(null);
      return;
    }
  }
};

/**
 * husky sets `core.hooksPath` to its hooks directory: every later commit runs the hooks, on a
 * person's machine too once the workspace is copied back. Only its version and help change nothing.
 */
export const husky: Model = (ctx, args) => {
  const words = words0(args);
  if (words.length === 1 && /^(-v|--version|-h|--help)$/.test(words[0] ?? '')) return;
  ctx.stateChange('git config core.hooksPath');
};
