/**
 * A tree copied into a session: the archive is read as it arrives and checked entry by entry
 * (incoming.ts), the checked copy staged inside the sandbox a part at a time (unpacked into a staging
 * directory while the rest is checked, staged-parts.ts), and moved into place only once all of it
 * passed and, when `router.approvalRequiredFor` lists `write_file`, a person agreed.
 * Secret-looking files are registered for redaction before their bytes reach the sandbox (or refuse
 * the archive under `sandbox.refuseSecretsInWorkspace`); what /workspace received is remembered as the
 * baseline of changes; the copy is audited.
 */
import { isSecretPath } from '../../policy/index.ts';
import { resolveSandboxPath } from '../../sandbox/index.ts';
import type { LiveSession } from '../../sessions/index.ts';
import { AirlockError } from '../../errors/index.ts';
import { approveChange } from '../change-approval.ts';
import { registerSecretFile } from '../write-judgement.ts';
import type { ArchiveInOptions, ArchiveInResult, ArchiveOpsOptions } from './archive-ops.ts';
import {
  emptyBaseline,
  MAX_BASELINE_FILE_TEXT_BYTES,
  MAX_BASELINE_TEXT_BYTES,
  remember,
} from './baseline.ts';
import type { Baseline } from './baseline.ts';
import { checkIncomingArchive } from './incoming.ts';
import { createStaging } from './staged-parts.ts';
import { underWorkspace } from './workspace-path.ts';

export interface ImportDeps extends ArchiveOpsOptions {
  readonly baselines: WeakMap<LiveSession, Baseline>;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

const join = (dir: string, rel: string): string => (dir === '' ? rel : rel === '' ? dir : `${dir}/${rel}`);

/**
 * Most bytes of files that look like secrets in one archive: their values are held to be redacted, so
 * they are bounded apart from the archive's own limit (a real project's .env and keys are small).
 */
export const MAX_SECRET_FILE_BYTES = 16 * 1024 * 1024;

function refuseSecret(path: string, why: 'secret' | 'too_large' = 'secret'): never {
  throw new AirlockError(
    'UNSAFE_ARCHIVE',
    why === 'secret'
      ? `archive refused: ${path} looks like a secret and sandbox.refuseSecretsInWorkspace is set; nothing was written`
      : `archive refused: its files that look like secrets (${path}, …) hold more than ${MAX_SECRET_FILE_BYTES} bytes; nothing was written`,
    { reason: why === 'secret' ? 'secret' : 'secret_too_large', paths: [path] },
  );
}

export async function importArchive(
  deps: ImportDeps,
  session: LiveSession,
  path: string,
  body: Uint8Array | AsyncIterable<Uint8Array>,
  putOptions: ArchiveInOptions = {},
): Promise<ArchiveInResult> {
  const dir = resolveSandboxPath(path, { allowRoot: true });
  const rel = underWorkspace(dir);
  const secretFiles: string[] = [];
  const targets: string[] = [];
  const seen: Array<{ path: string; sha256: string; content: Buffer | null }> = [];
  let baseline = deps.baselines.get(session);
  const textBudget = MAX_BASELINE_TEXT_BYTES - (baseline?.textBytes ?? 0);
  let keptBytes = 0;
  let secretBytes = 0;
  const isSecret = (entry: string): boolean => {
    const inWorkspace = `./${rel === null ? entry : join(rel, entry)}`;
    return isSecretPath(inWorkspace) || (inWorkspace !== `./${entry}` && isSecretPath(`./${entry}`));
  };
  // The files judged secret at their header (each entry is judged once: it is the largest per-entry
  // cost of checking a big tree).
  const secretEntries = new Set<string>();
  const staging = createStaging(deps.sessions, session, dir);
  let checked;
  try {
    checked = await checkIncomingArchive(
      body instanceof Uint8Array ? once(body) : body,
      deps.limits,
      (pieces, kind) => staging.write(pieces, kind),
      {
        fileHeader: (entry, sizeBytes) => {
          targets.push(`${dir}/${entry}`);
          if (isSecret(entry)) {
            secretEntries.add(entry);
            // Refused at the header: the secret's bytes never reach the sandbox.
            if (deps.refuseSecrets) refuseSecret(entry);
            secretBytes += sizeBytes;
            if (secretBytes > MAX_SECRET_FILE_BYTES) refuseSecret(entry, 'too_large');
            return { keep: true };
          }
          const keep =
            rel !== null && sizeBytes <= MAX_BASELINE_FILE_TEXT_BYTES && keptBytes + sizeBytes <= textBudget;
          if (keep) keptBytes += sizeBytes;
          return { keep };
        },
        onFile: (entry, sha256, content) => {
          if (secretEntries.has(entry) && content !== null) {
            secretFiles.push(entry);
            // Registered before the file's bytes reach the sandbox (even staged): no command can
            // print its values unredacted. An archive refused later leaves the values registered,
            // which only hides more.
            registerSecretFile(deps.sessions, session, `${dir}/${entry}`, content);
          }
          if (rel !== null) seen.push({ path: join(rel, entry), sha256, content });
        },
      },
    );
  } catch (error) {
    await staging.discard();
    throw error;
  }
  for (const entry of checked.entries) if (entry.kind === 'directory') targets.push(`${dir}/${entry.path}`);
  const directories = checked.entries.length - checked.files;
  const base = {
    path: deps.redactorFor(session).redact(dir).text,
    files: checked.files,
    directories,
    bytes: checked.bytes,
    secretFiles,
  };
  let approvalId: string | null = null;
  // The person running Airlock copying their own project in is not a model's write: nothing to judge.
  if (putOptions.operator !== true) {
    const verdict = await approveChange(deps, session, {
      subject: `copy ${checked.files} files (${checked.bytes} bytes) into ${dir}`,
      targets,
      signal: putOptions.signal,
    }).catch(async (error: unknown) => {
      await staging.discard();
      throw error;
    });
    if (verdict.status === 'denied') {
      await staging.discard();
      return { ...base, status: 'denied', approvalId: verdict.approvalId, reasons: verdict.reasons };
    }
    approvalId = verdict.status === 'approved' ? verdict.approvalId : null;
  }
  await staging.unpack();
  if (baseline === undefined) deps.baselines.set(session, (baseline = emptyBaseline()));
  for (const file of seen) remember(baseline, file.path, file.sha256, file.content);
  await deps.store.commit({
    events: [
      {
        type: 'file.archive_written',
        sessionId: session.id,
        commandId: null,
        data: {
          path: base.path,
          files: checked.files,
          directories,
          bytes: checked.bytes,
          sha256: checked.sha256,
          secretFiles: secretFiles.length,
          ...(putOptions.operator === true ? { operator: true } : {}),
        },
      },
    ],
  });
  return { ...base, status: 'completed', approvalId, reasons: [] };
}
