/** `client.audit`: the tamper-evident record of every command, decision and result (admin token). */
import { AirlockApiError, invalidResponse, isAirlockApiError } from './errors.ts';
import { decodeBody, LineSplitter } from './lines.ts';
import { readSseEvents } from './sse.ts';
import type { CallOptions } from './signals.ts';
import type { Transport } from './transport.ts';
import type { Query } from './url.ts';
import type { AuditEvent, VerifyResult } from './wire-types.ts';

export interface AuditFilter {
  /** Only events after this sequence number (for paging: the last `seq` seen). */
  readonly afterSeq?: number;
  readonly sessionId?: string;
  /** Event types, e.g. `['command.decided', 'approval.decided']`. */
  readonly types?: readonly string[];
}

export interface ListAuditOptions extends AuditFilter, CallOptions {
  /** Most events in the answer, oldest first. */
  readonly limit?: number;
  /** Only events before this seq: the newest `limit` of them (still oldest first), to page backwards. */
  readonly beforeSeq?: number;
  readonly commandId?: string;
}

export interface ExportAuditOptions extends AuditFilter, CallOptions {
  readonly maxEvents?: number;
}

function filterQuery(filter: AuditFilter): Query {
  return { afterSeq: filter.afterSeq, sessionId: filter.sessionId, type: filter.types };
}

export class Audit {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  async list(options: ListAuditOptions = {}): Promise<AuditEvent[]> {
    const answer = await this.#transport.json<{ events: AuditEvent[] }>(
      {
        method: 'GET',
        path: ['v1', 'audit'],
        query: {
          ...filterQuery(options),
          limit: options.limit,
          beforeSeq: options.beforeSeq,
          commandId: options.commandId,
        },
      },
      options,
    );
    return answer.events;
  }

  /**
   * The log as it grows: events after `afterSeq`, then each new one, until `signal` aborts or the
   * server closes the stream (reconnect with `afterSeq` set to the last seq seen).
   */
  async *follow(options: AuditFilter & CallOptions = {}): AsyncGenerator<AuditEvent, void, undefined> {
    const { response, signal, request } = await this.#transport.open(
      {
        method: 'GET',
        path: ['v1', 'audit', 'stream'],
        query: filterQuery(options),
        accept: 'text/event-stream',
        long: true,
      },
      options,
    );
    if (response.body === null) return;
    for await (const event of readSseEvents(response.body, signal, request, response.status)) {
      if (event.event === 'error') {
        throw invalidResponse(
          request,
          response.status,
          `the audit stream failed: ${event.data.slice(0, 200)}`,
        );
      }
      if (event.event !== 'audit') continue;
      try {
        yield JSON.parse(event.data) as AuditEvent;
      } catch (cause) {
        throw invalidResponse(request, response.status, 'an audit stream event is not JSON', cause);
      }
    }
  }

  /** Re-checks the hash chain on the server. A broken chain is a result (`ok: false`), not an error. */
  verify(options?: CallOptions): Promise<VerifyResult> {
    return this.#transport.json<VerifyResult>({ method: 'GET', path: ['v1', 'audit', 'verify'] }, options);
  }

  /**
   * Streams the NDJSON export one event at a time, without holding the whole log in memory. The server
   * breaks the transfer off when it fails after it began; that raises STREAM_INTERRUPTED (details:
   * `eventsReceived`), since the events had so far are not the whole export.
   */
  async *export(options: ExportAuditOptions = {}): AsyncGenerator<AuditEvent, void, undefined> {
    const { response, signal, request } = await this.#transport.open(
      {
        method: 'GET',
        path: ['v1', 'audit', 'export'],
        query: { ...filterQuery(options), maxEvents: options.maxEvents },
        accept: 'application/x-ndjson',
        long: true,
      },
      options,
    );
    if (response.body === null) return;
    const lines = new LineSplitter({ request, status: response.status });
    let received = 0;
    const parse = (line: string): AuditEvent | undefined => {
      if (line.trim() === '') return undefined;
      try {
        return JSON.parse(line) as AuditEvent;
      } catch (cause) {
        throw invalidResponse(request, response.status, 'a line of the audit export is not JSON', cause);
      }
    };
    try {
      for await (const text of decodeBody(response.body, signal, request)) {
        for (const line of lines.push(text)) {
          const event = parse(line);
          if (event === undefined) continue;
          received++;
          yield event;
        }
      }
    } catch (error) {
      if (!isAirlockApiError(error, 'CONNECTION_FAILED')) throw error;
      throw new AirlockApiError({
        code: 'STREAM_INTERRUPTED',
        status: response.status,
        message: `the audit export broke off after ${received} events: it is incomplete`,
        details: { eventsReceived: received },
        request,
        cause: error,
      });
    }
    const last = lines.end();
    const event = last === undefined ? undefined : parse(last);
    if (event !== undefined) yield event;
  }
}
