/**
 * `airlock tokens create|ls|revoke`: people's tokens for the dashboard and the API. They live in the
 * store, so this works on the store file a running `airlock serve` shares: a new token works and a
 * revoked one stops at once, without a restart.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { existsSync } from 'node:fs';
import { createAccessTokens } from '../airlock/index.ts';
import type { AccessTokenInfo } from '../airlock/index.ts';
import { parseDuration, resolveConfig } from '../config/index.ts';
import { AirlockError, isAirlockError } from '../errors/index.ts';
import { connectStore, resolveStorePath } from '../store/index.ts';
import type { AccessTokenRole, Store } from '../store/index.ts';
import { shown } from './approvals-view.ts';
import type { CliContext } from './context.ts';
import { cliDecider, configuredStore } from './store-access.ts';
import { shortDuration } from './terminal.ts';
import { textTable } from './text-table.ts';

export const tokensExitCodes = {
  ok: 0,
  /** `revoke`: at least one id named no token (the others were still revoked). */
  notFound: 1,
  usage: 2,
} as const;

interface StoreFlags {
  config?: string;
}

interface CreateFlags extends StoreFlags {
  role: AccessTokenRole;
  name: string;
  expiresIn?: string;
  json?: boolean;
}

const storeHelp = `
Tokens are kept in the store (only a digest of each) that airlock serve uses: airlock.yaml's store:,
else $AIRLOCK_HOME/airlock.db. A running server sees a new or revoked token at once. For a server on
another machine, use its API: POST /v1/tokens, GET /v1/tokens, DELETE /v1/tokens/:id (admin token).`;

export function registerTokensCommand(program: Command, context: CliContext): void {
  const tokens = program
    .command('tokens')
    .description("People's tokens for the dashboard and the API: viewers see, approvers also decide.");

  tokens
    .command('create')
    .description('Mint a token for a person; it is printed once (only a digest is kept).')
    .addOption(
      new Option('--role <role>', 'viewer (sees everything) or approver (also decides)')
        .choices(['viewer', 'approver'])
        .makeOptionMandatory(),
    )
    .requiredOption('--name <name>', 'whom it is for, shown in lists and the audit log (e.g. alice)')
    .option('--expires-in <duration>', 'valid this long, e.g. 30d or 12h (default: until revoked)')
    .option('--json', 'print { token, id, role, name, … } as one JSON line')
    .option('--config <path>', 'airlock.yaml naming the store (default: ./airlock.yaml if present)')
    .addHelpText(
      'after',
      `${storeHelp}\nExit status: 0 created; 2 for a bad flag or config; 125 when the store cannot be written.\n`,
    )
    .action((flags: CreateFlags) =>
      withStore(flags, context, true, (store) => create(store, flags, context)),
    );

  tokens
    .command('ls')
    .description("List people's tokens, revoked and expired ones included (never the tokens themselves).")
    .option('--json', 'one JSON object per line')
    .option('--config <path>', 'airlock.yaml naming the store (default: ./airlock.yaml if present)')
    .addHelpText(
      'after',
      `${storeHelp}\nExit status: 0 done; 2 for a bad flag or config; 125 when the store cannot be read.\n`,
    )
    .action((flags: StoreFlags & { json?: boolean }) =>
      withStore(flags, context, false, (store) => list(store, flags.json === true, context)),
    );

  tokens
    .command('revoke')
    .description('Revoke tokens: they stop working at once and their dashboard sign-ins end.')
    .argument('<id...>', 'token ids (tok_…), from airlock tokens ls')
    .option('--config <path>', 'airlock.yaml naming the store (default: ./airlock.yaml if present)')
    .addHelpText(
      'after',
      `${storeHelp}\nExit status: 0 revoked; ${tokensExitCodes.notFound} some id named no token (the others were revoked); 125 when the store cannot be written.\n`,
    )
    .action((ids: string[], flags: StoreFlags) =>
      withStore(flags, context, false, (store) => revoke(store, ids, context)),
    );
}

/**
 * Opens the configured store for one command. Minting may create it (tokens can be handed out before
 * the first start); reading and revoking never create an empty database.
 */
async function withStore(
  flags: StoreFlags,
  context: CliContext,
  create: boolean,
  work: (store: Store | null) => Promise<number>,
): Promise<void> {
  const resolved = await resolveConfig({ cwd: context.cwd, env: context.env, explicitPath: flags.config });
  const location = configuredStore(resolved);
  if (location.kind === 'sqlite' && location.path === ':memory:') {
    throw new AirlockError(
      'INVALID_CONFIG',
      'store: sqlite::memory: lives inside the process that made it; tokens need a file store',
      { key: 'store' },
    );
  }
  // A database server holds state whether or not this machine has a file for it.
  const exists = location.kind === 'postgres' || existsSync(resolveStorePath(location, context.cwd));
  const store = create || exists ? await connectStore(location, { baseDir: context.cwd }) : null;
  try {
    context.setExitCode(await work(store));
  } finally {
    await store?.close();
  }
}

async function create(store: Store | null, flags: CreateFlags, context: CliContext): Promise<number> {
  if (store === null) throw new AirlockError('INTERNAL', 'the store was not opened for create');
  const ttlMs = flags.expiresIn === undefined ? undefined : parseLifetime(flags.expiresIn);
  const { token, info } = await createAccessTokens({ store }).create({
    role: flags.role,
    name: flags.name,
    createdBy: cliDecider(),
    ...(ttlMs === undefined ? {} : { ttlMs }),
  });
  if (flags.json === true) {
    context.stdout.write(`${JSON.stringify({ token, ...info })}\n`);
    return tokensExitCodes.ok;
  }
  // The token alone on stdout, so `$(airlock tokens create …)` captures just it.
  context.stdout.write(`${token}\n`);
  context.stderr.write(
    `airlock: ${info.role} token ${info.id} for ${shown(info.name)}` +
      `${info.expiresAt === null ? '' : `, valid until ${info.expiresAt}`}; it is shown only now. ` +
      'Sign in to the dashboard with it, or send it as Authorization: Bearer <token>.\n',
  );
  return tokensExitCodes.ok;
}

/** A person's token lives for days: `30d` as well as the durations airlock.yaml takes (`12h`, `90m`). */
function parseLifetime(value: string): number {
  const days = /^\s*(\d{1,3})d\s*$/.exec(value);
  return days?.[1] !== undefined
    ? Number(days[1]) * 24 * 60 * 60 * 1000
    : parseDuration(value, { label: '--expires-in' });
}

function stateOf(info: AccessTokenInfo, nowMs: number): string {
  if (info.revokedAt !== null) return 'revoked';
  if (info.expiresAt !== null && Date.parse(info.expiresAt) <= nowMs) return 'expired';
  return 'active';
}

async function list(store: Store | null, json: boolean, context: CliContext): Promise<number> {
  const infos = store === null ? [] : await createAccessTokens({ store }).list();
  if (json) {
    for (const info of infos) context.stdout.write(`${JSON.stringify(info)}\n`);
    return tokensExitCodes.ok;
  }
  if (infos.length === 0) {
    context.stdout.write('no tokens: airlock tokens create --role viewer|approver --name NAME makes one\n');
    return tokensExitCodes.ok;
  }
  context.stdout.write(renderTokens(infos, Date.now()));
  return tokensExitCodes.ok;
}

export function renderTokens(infos: readonly AccessTokenInfo[], nowMs: number): string {
  const header = ['ID', 'ROLE', 'STATE', 'CREATED', 'EXPIRES', 'NAME'];
  const rows = infos.map((info) => [
    info.id,
    info.role,
    stateOf(info, nowMs),
    `${shortDuration(nowMs - Date.parse(info.createdAt))} ago`,
    info.expiresAt === null ? '-' : info.expiresAt.slice(0, 16).replace('T', ' '),
    shown(info.name),
  ]);
  return textTable([header, ...rows]);
}

async function revoke(store: Store | null, ids: readonly string[], context: CliContext): Promise<number> {
  let status: number = tokensExitCodes.ok;
  const tokens = store === null ? null : createAccessTokens({ store });
  for (const id of ids) {
    try {
      if (tokens === null)
        throw new AirlockError('NOT_FOUND', `no token ${JSON.stringify(id)}`, { tokenId: id });
      const info = await tokens.revoke(id, { revokedBy: cliDecider() });
      context.stdout.write(`revoked ${info.id} (${info.role}, ${shown(info.name)})\n`);
    } catch (error) {
      if (!isAirlockError(error) || error.code !== 'NOT_FOUND') throw error;
      context.stderr.error(`${shown(error.message)}: check the id with airlock tokens ls`);
      status = tokensExitCodes.notFound;
    }
  }
  return status;
}
