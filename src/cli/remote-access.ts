/**
 * `--url`: the control plane of a running `airlock serve`, reached through the SDK with the admin
 * token. SDK failures become AirlockErrors with one line that says what to do, so the commands and
 * their exit statuses are the same as against the local store.
 */
import { join } from 'node:path';
import { readAirlockEnvironment } from '../config/index.ts';
import { AirlockError, errorCodes } from '../errors/index.ts';
import type { ErrorCode } from '../errors/index.ts';
import { AirlockClient, isAirlockApiError } from '../sdk/index.ts';
import { ADMIN_TOKEN_FILE, readAdminToken } from '../server/index.ts';
import { auditEventJson } from '../store/index.ts';
import type { AuditEvent, VerifyResult } from '../store/index.ts';
import { shown } from './approvals-view.ts';
import type { CliContext } from './context.ts';
import { sessionSummaryOf } from './session-summary.ts';
import type { ControlPlaneAccess } from './store-access.ts';

/**
 * Every poll is a request counted against the admin token's rate limit (server.rateLimit, 1200/min by
 * default), which every other holder of that token shares: a person waiting a second is cheaper.
 */
const REMOTE_POLL_INTERVAL_MS = 1000;

/** Checks `--url` before anything is read or sent: an http(s) URL without a query, fragment or password. */
export function parseServerUrl(value: string): URL {
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    // Reported below with the expected form.
  }
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `--url ${JSON.stringify(value)} is not an http(s) URL like http://127.0.0.1:7400 (the one airlock serve printed)`,
      { field: '--url', value },
    );
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `--url ${JSON.stringify(value)} must be the server's address only: no query, fragment or user:password@`,
      { field: '--url', value },
    );
  }
  return url;
}

function isLoopback(url: URL): boolean {
  const host = url.hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

interface AdminTokenSource {
  readonly token: string;
  /** For messages: "AIRLOCK_TOKEN" or the file's path. */
  readonly from: string;
}

/**
 * AIRLOCK_TOKEN, else the token file `airlock serve` writes. That file belongs to a server on this
 * machine, so it is sent only to a loopback address: sent to another host it would hand this machine's
 * admin token (every session, every approval) to whoever answers there.
 */
function adminTokenFor(url: URL, context: CliContext): AdminTokenSource {
  const environment = readAirlockEnvironment(context.env);
  if (environment.adminToken !== undefined) return { token: environment.adminToken, from: 'AIRLOCK_TOKEN' };
  const path = join(environment.home, ADMIN_TOKEN_FILE);
  if (!isLoopback(url)) {
    throw new AirlockError(
      'UNAUTHENTICATED',
      `no admin token for ${url.origin}: set AIRLOCK_TOKEN to that server's token ` +
        `(${path} is sent only to a server on this machine, at localhost or 127.0.0.1)`,
      { url: url.href },
    );
  }
  const token = readAdminToken(environment.home);
  if (token === null) {
    throw new AirlockError(
      'UNAUTHENTICATED',
      `no admin token for ${url.origin}: AIRLOCK_TOKEN is not set and ${path} cannot be read ` +
        '(airlock serve writes it on first start; set AIRLOCK_HOME to its state directory)',
      { url: url.href, path },
    );
  }
  return { token, from: path };
}

export function remoteAccess(urlText: string, context: CliContext): ControlPlaneAccess {
  const url = parseServerUrl(urlText);
  const admin = adminTokenFor(url, context);
  if (url.protocol === 'http:' && !isLoopback(url)) {
    context.stderr.warn(
      `the admin token goes to ${url.host} unencrypted over http: use https, or an SSH tunnel to 127.0.0.1`,
    );
  }
  const client = new AirlockClient({ url, token: admin.token });
  const location = client.url;
  const call = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw translate(error, location, admin.from);
    }
  };

  return {
    location,
    pollIntervalMs: REMOTE_POLL_INTERVAL_MS,
    // A server always has its store: there is no "nothing recorded yet" to tell apart.
    hasState: () => true,
    approvals: {
      list: (query = {}) => call(() => client.approvals.list(query)),
      get: (id) => call(() => client.approvals.get(id)),
      // The server records the token's holder as the decider (api:admin:<token id>): over --url the
      // admin token decides, whoever runs the CLI, so options.decidedBy is not sent.
      decide: (id, decision, options) => {
        const reason = options.reason === undefined ? {} : { reason: options.reason };
        return call(() =>
          decision === 'approve'
            ? client.approvals.approve(id, { ...reason, remember: options.remember === true })
            : client.approvals.deny(id, reason),
        );
      },
    },
    audit: {
      list: (query) => call(async () => (await client.audit.list(query)).map(storedEvent)),
      verify: () => call(async () => (await client.audit.verify()) as VerifyResult),
      exportJsonl: (write, query) =>
        call(async () => {
          let written = 0;
          // One event at a time: the next is read from the socket only after `write` resolved, so a
          // slow reader of stdout holds the server back through TCP instead of filling memory here.
          for await (const event of client.audit.export(query)) {
            await write(auditEventJson(storedEvent(event)));
            written++;
          }
          return written;
        }),
    },
    sessions: {
      list: (query) =>
        call(async () => {
          const state = query.state === undefined ? {} : { state: query.state };
          // The API answers the newest 100 (its default page); the SDK has no limit option yet.
          const sessions = await client.sessions.list(state);
          return sessions.slice(-query.limit).map(sessionSummaryOf);
        }),
      destroy: (id) => call(async () => sessionSummaryOf(await client.sessions.destroy(id))),
    },
    close: async () => undefined,
  };
}

/**
 * The server sends the store's events as they are stored (the API's schema checks them on the way
 * out); the wire type only widens `type` and `data`, so a newer server's event type is printed as is.
 */
function storedEvent(event: unknown): AuditEvent {
  return event as AuditEvent;
}

/**
 * Why the connection failed, from the innermost cause: fetch wraps the socket's error (ECONNREFUSED,
 * ENOTFOUND) two levels down, under a bare "fetch failed".
 */
function innermostReason(error: Error): string | undefined {
  let reason: string | undefined;
  for (let current = error.cause, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    reason = typeof code === 'string' ? code : current.message;
    current = current.cause;
  }
  return reason === undefined ? undefined : shown(reason);
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorCodes, code);
}

/**
 * An SDK failure as the AirlockError the CLI prints in one line. The server's codes map to the same
 * codes (and exit statuses); failures to talk to it at all are STORE_UNAVAILABLE, the same as a store
 * that cannot be read. Messages from the server are escaped: it may be another program than Airlock.
 */
function translate(error: unknown, url: string, tokenFrom: string): unknown {
  if (!isAirlockApiError(error)) return error;
  const details = { ...error.details, url, request: error.request, httpStatus: error.status };
  const options = { cause: error };
  const message = shown(error.message);
  switch (error.code) {
    case 'CONNECTION_FAILED': {
      const reason = innermostReason(error);
      return new AirlockError(
        'STORE_UNAVAILABLE',
        `cannot reach ${url}: is \`airlock serve\` running?${reason === undefined ? '' : ` (${reason})`}`,
        details,
        options,
      );
    }
    case 'TIMEOUT':
    case 'ABORTED':
      return new AirlockError('STORE_UNAVAILABLE', `${url} did not answer: ${message}`, details, options);
    case 'HTTP_ERROR':
    case 'INVALID_RESPONSE':
    case 'STREAM_INTERRUPTED':
      return new AirlockError(
        'STORE_UNAVAILABLE',
        `${url} did not answer like airlock serve: ${message}`,
        details,
        options,
      );
    case 'UNAUTHENTICATED':
      return new AirlockError(
        'UNAUTHENTICATED',
        `${url} refused the admin token from ${tokenFrom} (${message}): is it that server's token?`,
        details,
        options,
      );
    case 'FORBIDDEN':
      return new AirlockError(
        'FORBIDDEN',
        `the token from ${tokenFrom} is not ${url}'s admin token (a session token?): approvals, audit and sessions need the admin token`,
        details,
        options,
      );
    default:
      // A code this CLI does not know comes from a newer server: kept in the message, not lost.
      return isErrorCode(error.code)
        ? new AirlockError(error.code, message, details, options)
        : new AirlockError('INTERNAL', `${url} answered ${shown(error.code)}: ${message}`, details, options);
  }
}
