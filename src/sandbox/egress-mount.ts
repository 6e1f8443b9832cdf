/**
 * Where a session's egress files appear inside its sandbox, the same on every driver (the proxy's
 * variables name these paths: HTTP_PROXY, SSL_CERT_FILE…), and how the session's sandbox is let into
 * its egress directory on the host.
 */
import { chmodSync, chownSync, lstatSync } from 'node:fs';
import { AirlockError } from '../errors/index.ts';
import type { SandboxEgress } from './types.ts';

/** Below the directory Airlock owns in every sandbox (read-only: no command can replace it). */
export const EGRESS_DIR_IN_SANDBOX = '/.airlock/egress';
/** The session CA, and the usual roots plus it, as files of their own (see egressMounts). */
export const EGRESS_CA_CERTIFICATE_IN_SANDBOX = '/.airlock/egress-ca.pem';
export const EGRESS_CA_BUNDLE_IN_SANDBOX = '/.airlock/egress-ca-bundle.pem';
/** The address commands reach the proxy at: the supervisor's bridge listens there. */
export const EGRESS_BRIDGE_HOST = '127.0.0.1';
export const EGRESS_BRIDGE_PORT = 3128;
/** The system bundle OpenSSL-based tools read by default; replaced for sessions with secrets. */
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** A plain file name: nothing a path built from it could leave the directory with. */
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/;

export function validateEgress(egress: SandboxEgress): SandboxEgress {
  const problems: string[] = [];
  if (typeof egress.directory !== 'string' || !egress.directory.startsWith('/'))
    problems.push('egress.directory must be an absolute path');
  for (const key of ['socket', 'caCertificate', 'caBundle'] as const) {
    const name = egress[key];
    if ((key === 'socket' || name !== undefined) && (typeof name !== 'string' || !FILE_NAME.test(name)))
      problems.push(`egress.${key} must be a plain file name`);
  }
  if ((egress.caCertificate === undefined) !== (egress.caBundle === undefined))
    problems.push('egress.caCertificate and egress.caBundle go together');
  // The in-sandbox socket path must fit sun_path (108 bytes with its NUL).
  if (Buffer.byteLength(`${EGRESS_DIR_IN_SANDBOX}/${egress.socket}`) > 107)
    problems.push('egress.socket is too long for a Unix socket path');
  if (problems.length > 0)
    throw new AirlockError('INVALID_ARGUMENT', `sandbox ${problems.join('; ')}`, { field: 'egress' });
  return Object.freeze({ ...egress });
}

/** The supervisor's arguments for a sandbox with egress (native/bridge.c). */
export function egressBridgeArgs(egress: SandboxEgress | undefined): string[] {
  if (egress === undefined) return [];
  return ['--egress-bridge', `${EGRESS_BRIDGE_PORT}:${EGRESS_DIR_IN_SANDBOX}/${egress.socket}`];
}

export interface EgressMount {
  readonly source: string;
  readonly destination: string;
  readonly kind: 'dir' | 'file';
}

/**
 * What a sandbox with egress mounts, all read-only: the session's directory (for its socket: the
 * directory, not the socket file, so a restarted proxy's new socket shows in it), and with secrets
 * the CA files on their own. The CA files are mounted as files so commands can read them wherever
 * they may not enter the directory (under gVisor it stays the supervisor's alone), and the bundle
 * also over the system bundle when the image has one, for tools that ignore SSL_CERT_FILE. Nothing
 * without egress: the sandbox then has no way out at all.
 */
export function egressMounts(egress: SandboxEgress | undefined, systemCaBundle: boolean): EgressMount[] {
  if (egress === undefined) return [];
  const mounts: EgressMount[] = [
    { source: egress.directory, destination: EGRESS_DIR_IN_SANDBOX, kind: 'dir' },
  ];
  if (egress.caCertificate !== undefined && egress.caBundle !== undefined) {
    const bundle = `${egress.directory}/${egress.caBundle}`;
    mounts.push(
      {
        source: `${egress.directory}/${egress.caCertificate}`,
        destination: EGRESS_CA_CERTIFICATE_IN_SANDBOX,
        kind: 'file',
      },
      { source: bundle, destination: EGRESS_CA_BUNDLE_IN_SANDBOX, kind: 'file' },
    );
    if (systemCaBundle) mounts.push({ source: bundle, destination: SYSTEM_CA_BUNDLE, kind: 'file' });
  }
  return mounts;
}

/**
 * Lets a session's sandbox, running as its own host uid and gid, into its egress directory: the
 * directory's group becomes the session's gid, mode 0750. The proxy keeps every session directory
 * 0700 otherwise, so no other host user (and no other session) can reach this session's socket; the
 * proxy's own directory only lets them pass through (0711). Needed where the sandbox's runtime opens
 * the directory as the session's uid (bwrap) or the sandbox's processes are that uid (Docker with
 * runc); the gid returns to the pool with the session, whose directory goes with it.
 */
export function grantEgressAccess(egress: SandboxEgress | undefined, gid: number): void {
  if (egress === undefined) return;
  const stats = lstatSync(egress.directory);
  if (!stats.isDirectory()) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `the egress directory ${egress.directory} is not a directory`,
      {
        path: egress.directory,
      },
    );
  }
  chownSync(egress.directory, stats.uid, gid);
  chmodSync(egress.directory, 0o750);
}
