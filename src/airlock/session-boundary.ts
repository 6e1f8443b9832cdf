/**
 * What will ask in a session, for the model to read before it acts: the network it may reach, the
 * secrets it was given, what `router.approvalRequiredFor` lists, who reviews requests and how long a
 * call waits, and what a person already granted for the rest of the session.
 */
import type { RouterConfig } from '../config/index.ts';
import type { SessionBoundary } from '../sdk/index.ts';
import type { LiveSession } from '../sessions/index.ts';

// The shape is the wire contract's, declared once in the SDK (which imports nothing from the server),
// so the compiler holds what the server builds to what clients read.
export type { SessionBoundary };

export function boundaryOf(session: LiveSession, router: RouterConfig): SessionBoundary {
  const { capabilities } = session;
  return {
    network: { mode: capabilities.network.mode, allow: [...capabilities.network.allow] },
    secrets: { envNames: [...capabilities.secrets.envNames], files: [...capabilities.secrets.files] },
    home: capabilities.home,
    approvalRequiredFor: [...router.approvalRequiredFor],
    reviewer: router.reviewer?.name ?? null,
    approvalWaitMs: router.approvalWaitMs,
    approvalTimeoutMs: router.approvalTimeoutMs,
    granted: {
      commands: [...session.remembered].filter((key) => !key.startsWith('write_file ')).length,
      programs: [...session.grantedPrograms],
      hosts: [...session.grantedHosts],
    },
  };
}
