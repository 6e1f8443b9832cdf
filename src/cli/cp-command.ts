/**
 * `airlock cp`, in the manner of `docker cp`: a local directory (or tar archive) into a session's
 * sandbox, or a sandbox directory out into a local one. One side is `SESSION:PATH`.
 */
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { AirlockClient } from '../sdk/index.ts';
import type { ArchiveUploadResult, SandboxSession } from '../sdk/index.ts';
import type { CliContext } from './context.ts';
import { unpackWhole } from '../local-tree/index.ts';
import { uploadDirectory } from '../sdk-node/index.ts';
import { adminTokenFor, parseServerUrl } from './remote-access.ts';

export const cpExitCodes = { ok: 0, failed: 1, usage: 2 } as const;

const REMOTE = /^(ses_[A-Za-z0-9_-]+):(.+)$/;

interface CpFlags {
  url?: string;
  protected: 'leave-out' | 'ask';
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
    .addOption(
      new Option(
        '--protected <mode>',
        'copying out: changed protected paths (CI workflows, agent configuration, git hooks) are left out with a note, or asked about once in the approval queue and copied when a person approves',
      )
        .choices(['leave-out', 'ask'])
        .default('leave-out'),
    )
    .addHelpText(
      'after',
      `
Examples:
  airlock cp --url http://127.0.0.1:7400 ./project ses_abc:/workspace
  airlock cp --url http://127.0.0.1:7400 ses_abc:/workspace/out ./out
  airlock cp --url http://127.0.0.1:7400 --protected ask ses_abc:/workspace ./project
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
      const session = await client.sessions.connect(target[1] ?? '');
      const result = await copyIn(resolve(context.cwd, from), session, target[2] ?? '/workspace', context);
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
    if (flags.protected === 'ask')
      context.stderr.warn('changed protected paths, if any, wait for a person (airlock approvals)');
    // Streamed both ways: a tree of any size is unpacked as it arrives, never held whole here. Sent as
    // it is checked, its summary last: unpacked beside the destination and moved into place only once
    // it ended whole, so an export stopped part way leaves the destination as it was.
    const out = await session.files.downloadStream(source?.[2] ?? '/workspace', {
      protectedPaths: flags.protected,
      summary: 'end',
    });
    const written = await unpackWhole(resolve(context.cwd, to), out.tar);
    for (const note of written.summary.leftOut) context.stderr.warn(`left out ${note.path}: ${note.why}`);
    for (const note of written.leftOut) context.stderr.warn(`left out ${note.path}: ${note.why}`);
    context.stdout.write(`copied ${written.files} files into ${resolve(context.cwd, to)}\n`);
    return cpExitCodes.ok;
  } catch (error) {
    context.stderr.warn((error as Error).message);
    return cpExitCodes.failed;
  }
}

/**
 * A local directory (packed as it is sent) or a tar file (read as it is sent) into the session: the
 * archive is never held whole in this process, whatever its size.
 */
async function copyIn(
  local: string,
  session: SandboxSession,
  remotePath: string,
  context: CliContext,
): Promise<ArchiveUploadResult> {
  const info = await lstat(local);
  if (!info.isDirectory()) return session.files.upload(createReadStream(local), remotePath);
  const result = await uploadDirectory(session.files, local, remotePath);
  for (const note of result.leftOutLocally) context.stderr.warn(`left out ${note.path}: ${note.why}`);
  return result;
}
