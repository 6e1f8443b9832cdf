import type { Command } from 'commander';
import { auditKeyPath } from '../airlock/index.ts';
import { resolveConfig } from '../config/index.ts';
import { formatAuditPublicKey, loadOrCreateAuditKey, readAuditSigningKey } from '../store/index.ts';
import type { AuditReport } from '../store/index.ts';
import type { CliContext } from './context.ts';
import type { VerifyOutcome } from './local-audit.ts';
import { controlPlaneOptions, unavailableHelp, withControlPlane } from './store-access.ts';
import type { AccessFlags, ControlPlaneAccess } from './store-access.ts';

/** Exit statuses of `airlock audit verify` (also in its --help). */
export const verifyExitCodes = { ok: 0, failed: 1, usage: 2 } as const;

interface VerifyFlags extends AccessFlags {
  publicKey: string[];
  witness?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerAuditVerifyCommands(audit: Command, context: CliContext): void {
  controlPlaneOptions(
    audit
      .command('verify')
      .description(
        'Check the audit log: the hash chain, every signed checkpoint, this machine’s anchor and a witness file.',
      )
      .option(
        '--public-key <file>',
        'check signatures with this public key (as airlock audit key printed it) instead of the key ' +
          'file on this machine; repeat for keys used before a key change',
        collect,
        [],
      )
      .option('--witness <file>', 'compare the store with this witness file (default: audit.witness.file)'),
  )
    .addHelpText(
      'after',
      `
Detects an edited, inserted or deleted event; a chain rebuilt by someone without the signing key (the
signed checkpoints no longer match); events deleted together with the head that named them (a signed
checkpoint, or this machine's anchor, names a seq the chain no longer reaches); and a store that
disagrees with its witness. Events after the newest checkpoint are covered only by the hash chain
(and the witness): the output says how many.
Exit status: 0 the log verifies; ${verifyExitCodes.failed} it does not (the first problem is printed);
2 for a bad flag, config or key file; ${unavailableHelp}.
`,
    )
    .action((flags: VerifyFlags) =>
      withControlPlane(flags, context, (access) => verify(access, flags, context)),
    );

  audit
    .command('key')
    .description(
      'Print the public key that signs audit checkpoints and its fingerprint (made on first use); ' +
        'keep a copy away from this machine for airlock audit verify --public-key.',
    )
    .option('--config <path>', 'airlock.yaml naming the key file (default: ./airlock.yaml if present)')
    .action(async (flags: { config?: string }) => {
      const resolved = await resolveConfig({
        cwd: context.cwd,
        env: context.env,
        explicitPath: flags.config,
      });
      const path = auditKeyPath(resolved.config.audit, resolved.environment.home);
      const existing = readAuditSigningKey(path);
      const key = existing ?? loadOrCreateAuditKey(path);
      if (existing === null) context.stderr.warn(`created the audit signing key ${path} (mode 0600)`);
      context.stdout.write(formatAuditPublicKey(key));
      context.setExitCode(verifyExitCodes.ok);
    });
}

async function verify(access: ControlPlaneAccess, flags: VerifyFlags, context: CliContext): Promise<number> {
  const outcome = await access.audit.verify({
    publicKeyFiles: flags.publicKey,
    ...(flags.witness === undefined ? {} : { witnessPath: flags.witness }),
  });
  const lines = access.hasState()
    ? describeOutcome(outcome)
    : [`ok: 0 events verified (no store at ${access.location} yet)`];
  context.stdout.write(`${lines.join('\n')}\n`);
  return outcome.report.ok ? verifyExitCodes.ok : verifyExitCodes.failed;
}

/** What verify found, one line per protection, in the words a person checking the log needs. */
export function describeOutcome({ report, keys }: VerifyOutcome): string[] {
  if (!report.ok) {
    return [
      `FAILED at seq ${report.seq} (${report.problem}): ${report.message}; ` +
        `events verified before it: ${report.checked}`,
    ];
  }
  return [
    `ok: ${report.checked} events verified, head ${report.lastHash === '' ? '(none)' : report.lastHash}`,
    ...describeSignatures(report, keys),
    ...(report.anchor === null
      ? []
      : [
          `anchor: seq ${report.anchor.seq}, signed and kept outside the store (${report.anchor.path}), is in the chain`,
        ]),
    ...(report.witness === null ? [] : [describeWitness(report.witness)]),
  ];
}

function describeSignatures(report: Extract<AuditReport, { ok: true }>, keys: string): string[] {
  const { checkpoints, checked } = report;
  if (checked === 0) return [];
  const lines = [
    checkpoints.signaturesChecked
      ? `signatures: ${checkpoints.verified} checkpoint${checkpoints.verified === 1 ? '' : 's'} verified with ${keys}` +
        (checkpoints.verified === 0 ? '' : `; the newest covers events 1..${checkpoints.lastSeq}`)
      : `signatures: NOT checked (${keys}); ${checkpoints.verified} checkpoint${checkpoints.verified === 1 ? '' : 's'} name heads the chain has`,
  ];
  if (checkpoints.unsignedEvents > 0) {
    const from = checkpoints.lastSeq + 1;
    lines.push(
      `unsigned: events ${from === checked ? from : `${from}..${checked}`} (${checkpoints.unsignedEvents}) ` +
        'are covered only by the hash chain until the next checkpoint',
    );
  }
  return lines;
}

function describeWitness(witness: NonNullable<Extract<AuditReport, { ok: true }>['witness']>): string {
  const matched =
    witness.records === 0
      ? `witness ${witness.path}: empty`
      : `witness ${witness.path}: events ${witness.firstSeq}..${witness.lastSeq} match the store`;
  if (witness.unwitnessedEvents === 0) return matched;
  const from = witness.lastSeq + 1;
  const to = witness.lastSeq + witness.unwitnessedEvents;
  return `${matched}; events ${from === to ? from : `${from}..${to}`} are not in it (the sink is behind, or the file was cut)`;
}
