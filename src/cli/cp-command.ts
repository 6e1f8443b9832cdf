/**
 * `airlock cp`, in the manner of `docker cp`: a local directory (or tar archive) into a session's
 * sandbox, or a sandbox directory out into a local one. One side is `SESSION:PATH`.
 */
import { lstat, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AirlockClient } from '../sdk/index.ts';
import type { CliContext } from './context.ts';
import { packDirectory, unpackInto } from '../local-tree/index.ts';
import { adminTokenFor, parseServerUrl } from './remote-access.ts';

export const cpExitCodes = { ok: 0, failed: 1, usage: 2 } as const;

const REMOTE = /^(ses_[A-Za-z0-9_-]+):(.+)$/;

interface CpFlags {
  url?: string;
}

export function registerCpCommand(program: Command, context: CliContext): void {
  program
    .command('cp')
    .description(
      'Copy a directory (or .tar/.tar.gz) into a session, or a session directory out (like docker cp).',
    )
    .argument('<from>', 'a local path, or SESSION:PATH')
    .argument('<to>', 'a local directory, or SESSION:PATH')
    .option('--url <url>', 'the airlock serve running the session, e.g. http://127.0.0.1:7400')
    .addHelpText(
      'after',
      `
Examples:
  airlock cp --url http://127.0.0.1:7400 ./project ses_abc:/workspace
  airlock cp --url http://127.0.0.1:7400 ses_abc:/workspace/out ./out
In: symlinks and special files stay out (noted on stderr); the server refuses a bad archive whole.
Out: what the export checks left out (links out of the tree, FIFOs, setuid files, changed protected
paths) is noted on stderr. Exit status: 0 copied; 1 refused or failed; 2 usage.
`,
    )
    .action(async (from: string, to: string, flags: CpFlags) => {
      context.setExitCode(await copy(from, to, flags, context));
    });
}

async function copy(from: string, to: string, flags: CpFlags, context: CliContext): Promise<number> {
  const source = REMOTE.exec(from);
  const target = REMOTE.exec(to);
  if ((source === null) === (target === null) || flags.url === undefined) {
    context.stderr.warn('give --url and exactly one side as SESSION:PATH (e.g. ses_abc:/workspace)');
    return cpExitCodes.usage;
  }
  const url = parseServerUrl(flags.url);
  const client = new AirlockClient({ url, token: adminTokenFor(url, context).token });
  try {
    if (target !== null) {
      const local = resolve(context.cwd, from);
      const info = await lstat(local);
      let tar: Uint8Array;
      if (info.isDirectory()) {
        const packed = await packDirectory(local);
        for (const note of packed.leftOut) context.stderr.warn(`left out ${note.path}: ${note.why}`);
        tar = packed.tar;
      } else {
        tar = await readFile(local);
      }
      const session = await client.sessions.connect(target[1] ?? '');
      const result = await session.files.upload(tar, target[2] ?? '/workspace');
      for (const secret of result.secretFiles)
        context.stderr.warn(`${secret} looks like a secret: its values are redacted from every output`);
      if (result.status !== 'completed') {
        context.stderr.warn(`not copied: ${result.reasons.join('; ')}`);
        return cpExitCodes.failed;
      }
      context.stdout.write(`copied ${result.files} files (${result.bytes} bytes) into ${result.path}\n`);
      return cpExitCodes.ok;
    }
    const session = await client.sessions.connect(source?.[1] ?? '');
    const out = await session.files.download(source?.[2] ?? '/workspace');
    for (const note of out.leftOut) context.stderr.warn(`left out ${note.path}: ${note.why}`);
    const written = await unpackInto(resolve(context.cwd, to), out.tar);
    for (const note of written.leftOut) context.stderr.warn(`left out ${note.path}: ${note.why}`);
    context.stdout.write(`copied ${written.files} files into ${resolve(context.cwd, to)}\n`);
    return cpExitCodes.ok;
  } catch (error) {
    context.stderr.warn((error as Error).message);
    return cpExitCodes.failed;
  }
}
