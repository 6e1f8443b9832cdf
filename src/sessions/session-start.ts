/** What a new session's sandbox gets before its first command, and how its creation is recorded. */
import { validateSpec } from '../sandbox/index.ts';
import type { SandboxInfo } from '../sandbox/index.ts';
import type { JsonObject } from '../store/index.ts';
import { SANDBOX_HOME } from './capabilities.ts';
import type { LiveSession, SessionAttachment, SessionSettings } from './types.ts';

/**
 * Makes the commands' HOME when it is in the scratch (the default): a directory that does not exist
 * would make every tool that keeps a cache or a configuration file there fail. The file written is the
 * one a fresh home has anyway.
 */
export async function makeHome(sandbox: LiveSession['sandbox'], home: string | undefined): Promise<void> {
  if (home !== SANDBOX_HOME) return;
  await sandbox.writeFile(
    `${SANDBOX_HOME}/.profile`,
    '# HOME of this Airlock sandbox, in /tmp: caches and tool settings stay out of /workspace.\n',
    { createParents: true },
  );
}

/** The settings with what the attachment adds to the sandbox: its variables and its way out. */
export function withAttachment(
  settings: SessionSettings,
  attachment: SessionAttachment | undefined,
): SessionSettings {
  if (attachment === undefined) return settings;
  const sandbox = validateSpec(
    {
      ...settings.sandbox,
      env: { ...settings.sandbox.env, ...attachment.env },
      ...(attachment.egress === undefined ? {} : { egress: attachment.egress }),
    },
    { allowImageReference: settings.driver === 'docker' },
  );
  return { ...settings, sandbox };
}

/** The audit record of how a sandbox isolates: plain JSON (interfaces are not index-signed). */
export function isolationRecord(info: SandboxInfo): JsonObject {
  const { processes, ...rest } = info;
  return { ...rest, ...(processes === undefined ? {} : { processes: { ...processes } }) };
}
