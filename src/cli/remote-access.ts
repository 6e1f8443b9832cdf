/**
 * `--url`: the control plane of a running `airlock serve`, reached through the SDK with the admin
 * token. SDK failures become AirlockErrors with one line that says what to do, so the commands and
 * their exit statuses are the same as against the local store.
 */
import { join } from 'node:path';
import { readAirlockEnvironment } from '../config/index.ts';
import { AirlockError, errorCodes, isAirlockError } from '../errors/index.ts';
import type { ErrorCode } from '../errors/index.ts';
import { AirlockClient, isAirlockApiError } from '../sdk/index.ts';
import type { AirlockApiError } from '../sdk/index.ts';
import { ADMIN_TOKEN_FILE, readAdminToken } from '../server/index.ts';
import { auditEventJson, compareWitness } from '../store/index.ts';
import type { AuditEvent } from '../store/index.ts';
import { shown } from './approvals-view.ts';
import type { CliContext } from './context.ts';
import { isLoopbackHost } from './loopback.ts';
import { sessionSummaryOf } from './session-summary.ts';
import type { AccessOptions, ControlPlaneAccess } from './store-access.ts';

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
  if (!isLoopbackHost(url.hostname)) {
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
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    context.stderr.warn(
      `the admin token goes to ${url.host} unencrypted over http: use https, or an SSH tunnel to 127.0.0.1`,
    );
  }
  const client = new AirlockClient({ url, token: admin.token });
  const location = client.url;
  /** Every SDK call goes through here: the caller's signal goes along, and a failure is translated. */
  const call = async <T>(
    options: AccessOptions,
    work: (sdkOptions: { readonly signal?: AbortSignal }) => Promise<T>,
  ): Promise<T> => {
    const { signal } = options;
    try {
      return await work(signal === undefined ? {} : { signal });
    } catch (error) {
      // Stopped by the caller (Ctrl-C): whatever the SDK made of it, it is no failure of the server.
      if (signal?.aborted === true) throw signal.reason;
      throw translate(error, location, admin.from);
    }
  };

  return {
    location,
    pollIntervalMs: REMOTE_POLL_INTERVAL_MS,
    // A server always has its store: there is no "nothing recorded yet" to tell apart.
    hasState: () => true,
    isTransient,
    approvals: {
      list: (query = {}, options = {}) => call(options, (sdk) => client.approvals.list({ ...query, ...sdk })),
      get: (id, options = {}) => call(options, (sdk) => client.approvals.get(id, sdk)),
      // The server records the token's holder as the decider (api:admin:<token id>): over --url the
      // admin token decides, whoever runs the CLI, so decidedBy is not sent.
      decide: (id, decision, decideOptions, options = {}) => {
        const reason = decideOptions.reason === undefined ? {} : { reason: decideOptions.reason };
        return call(options, (sdk) =>
          decision === 'approve'
            ? client.approvals.approve(id, {
                ...reason,
                ...(decideOptions.scope === undefined ? {} : { scope: decideOptions.scope }),
                remember: decideOptions.remember === true,
                ...sdk,
              })
            : client.approvals.deny(id, { ...reason, ...sdk }),
        );
      },
    },
    audit: {
      list: (query, options = {}) =>
        call(options, async (sdk) => (await client.audit.list({ ...query, ...sdk })).map(storedEvent)),
      verify: async (request, options = {}) => {
        // The server checks signatures with its own key; checking them with a key kept elsewhere needs
        // the store itself, which is not sent over the API.
        if (request.publicKeyFiles.length > 0) {
          throw new AirlockError(
            'INVALID_ARGUMENT',
            '--public-key needs the store itself: with --url the server checks signatures with its own key. ' +
              'Run airlock audit verify --public-key where the store is, or on a copy of it (--config)',
            { field: '--public-key' },
          );
        }
        const report = await call(options, (sdk) => client.audit.verify(sdk));
        const keys = "the server's key";
        if (request.witnessPath === undefined || !report.ok) return { report, keys };
        const compared = await compareWitness(
          request.witnessPath,
          (afterSeq, limit) =>
            call(options, async (sdk) =>
              (await client.audit.list({ afterSeq, limit, ...sdk })).map(storedEvent),
            ),
          report.checked,
        );
        return { report: compared.ok ? { ...report, witness: compared.summary } : compared, keys };
      },
      exportJsonl: (write, query, options = {}) =>
        call(options, async (sdk) => {
          let written = 0;
          let lastSeq: number | undefined;
          try {
            // One event at a time: the next is read from the socket only after `write` resolved, so a
            // slow reader of stdout holds the server back through TCP instead of filling memory here.
            for await (const event of client.audit.export({ ...query, ...sdk })) {
              await write(auditEventJson(storedEvent(event)));
              written++;
              lastSeq = event.seq;
            }
          } catch (error) {
            if (!isAirlockApiError(error, 'STREAM_INTERRUPTED')) throw error;
            throw incompleteExport(error, written, lastSeq, location);
          }
          return written;
        }),
    },
    sessions: {
      list: (query, options = {}) =>
        call(options, async (sdk) => {
          const state = query.state === undefined ? {} : { state: query.state };
          const sessions = await client.sessions.list({ ...state, limit: query.limit, ...sdk });
          return sessions.map(sessionSummaryOf);
        }),
      destroy: (id, options = {}) =>
        call(options, async (sdk) => sessionSummaryOf(await client.sessions.destroy(id, sdk))),
    },
    close: async () => undefined,
  };
}

/**
 * The server breaks an export off when it fails midway (and a connection may break): the lines
 * written so far are a true prefix of the log, but not all of it, and a script must not take them
 * for the whole export.
 */
function incompleteExport(
  error: AirlockApiError,
  written: number,
  lastSeq: number | undefined,
  url: string,
): AirlockError {
  const resume = lastSeq === undefined ? '' : `; --since ${lastSeq} continues after the last event written`;
  return new AirlockError(
    'STORE_UNAVAILABLE',
    `the export broke off after ${written} event${written === 1 ? '' : 's'}; it is incomplete ` +
      `(the answer from ${url} ended midway${resume})`,
    { url, request: error.request, eventsWritten: written, lastSeq: lastSeq ?? null },
    { cause: error },
  );
}

/**
 * Failures that pass by themselves: the server restarting (connection refused or cut) or stopping, a
 * rate limit, a timeout, and a proxy's 502/503/504 while the server behind it is away. Anything else
 * (a wrong token, not Airlock at that URL) is the same on the next try.
 */
function isTransient(error: unknown): boolean {
  const cause = isAirlockError(error) ? error.cause : error;
  if (!isAirlockApiError(cause)) return false;
  switch (cause.code) {
    case 'CONNECTION_FAILED':
    case 'TIMEOUT':
    case 'RATE_LIMITED':
    case 'SERVER_STOPPING':
      return true;
    case 'HTTP_ERROR':
      return cause.status === 429 || cause.status === 502 || cause.status === 503 || cause.status === 504;
    default:
      return false;
  }
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
