/**
 * The account of one connection, filled in as it goes and reported exactly once when it ends: one
 * event to the sink (the audit log), one update of the metrics. Secret values never enter it: it holds
 * names of secrets, and the refusal text, which is built from host names only.
 */
import type { Socket } from 'node:net';
import type { EgressMetrics } from './metrics.ts';
import type { SessionState } from './session-state.ts';
import type { AllowVia, EgressEvent, EgressEventSink, EgressProtocol, RefusalCode } from './types.ts';

export interface ConnectionRecord {
  target(host: string, port: number): void;
  allowed(via: AllowVia): void;
  /** Refused: counted for the session's and the running command's lists of refused hosts. */
  refused(code: RefusalCode, message: string): void;
  failed(error: string): void;
  address(address: string): void;
  secretUsed(name: string): void;
  inspected(): void;
  /** Bytes each way are read off these sockets when the connection ends. */
  upstream(socket: Socket): void;
  /** A relay process carries the connection from here: the event waits for its report. */
  relayStarted(): void;
  /** Bytes a relay process moved for this connection (bulk-relay.ts), beside the sockets' own counts. */
  relayed(up: number, down: number): void;
  /** Idempotent: the first call reports. */
  finish(): void;
}

export interface RecordContext {
  readonly state: SessionState;
  readonly sink: EgressEventSink | undefined;
  readonly metrics: EgressMetrics;
  readonly onSinkError: (error: unknown) => void;
}

export function startRecord(context: RecordContext, protocol: EgressProtocol): ConnectionRecord {
  const startedAt = Date.now();
  const started = performance.now();
  const commandId = context.state.currentCommandId();
  const sockets = new Set<Socket>();
  const secrets = new Set<string>();
  let host = '';
  let port = 0;
  let address: string | undefined;
  let decision: 'allowed' | 'refused' = 'refused';
  let reason: AllowVia | RefusalCode = 'bad_request';
  let message: string | undefined;
  let error: string | undefined;
  let inspected = false;
  let relayedUp = 0;
  let relayedDown = 0;
  // The proxy's side may close before the relay has reported (the session ended under it): the event
  // then waits for the report, so no relayed byte goes uncounted.
  let relaying = false;
  let finishWhenRelayed = false;
  let finished = false;
  let decided = false;
  // A client may hang up while its connection is being decided (a person is being asked): the event
  // then waits for the decision, so it never reports a connection as refused for no reason.
  let finishWhenDecided = false;

  return {
    target(h, p) {
      host = h;
      port = p;
    },
    allowed(via) {
      decision = 'allowed';
      reason = via;
      decided = true;
      if (finishWhenDecided) this.finish();
    },
    refused(code, text) {
      decision = 'refused';
      reason = code;
      message = text;
      if (host !== '') context.state.recordRefusal(host, port, code, text);
      decided = true;
      if (finishWhenDecided) this.finish();
    },
    failed(text) {
      error ??= text;
    },
    address(value) {
      address = value;
    },
    secretUsed(name) {
      secrets.add(name);
    },
    inspected() {
      inspected = true;
    },
    upstream(socket) {
      sockets.add(socket);
    },
    relayStarted() {
      relaying = true;
    },
    relayed(up, down) {
      relayedUp += up;
      relayedDown += down;
      relaying = false;
      if (finishWhenRelayed) this.finish();
    },
    finish() {
      if (finished) return;
      if (!decided) {
        finishWhenDecided = true;
        return;
      }
      if (relaying) {
        finishWhenRelayed = true;
        return;
      }
      finished = true;
      let bytesUp = relayedUp;
      let bytesDown = relayedDown;
      for (const socket of sockets) {
        bytesUp += socket.bytesWritten;
        bytesDown += socket.bytesRead;
      }
      const event: EgressEvent = Object.freeze({
        type: 'egress.connection',
        sessionId: context.state.sessionId,
        ...(commandId === undefined ? {} : { commandId }),
        protocol,
        host,
        port,
        ...(address === undefined ? {} : { address }),
        decision,
        reason,
        ...(message === undefined ? {} : { message }),
        ...(error === undefined ? {} : { error }),
        inspected,
        secrets: Object.freeze([...secrets]),
        bytesUp,
        bytesDown,
        durationMs: performance.now() - started,
        startedAt: new Date(startedAt).toISOString(),
      });
      context.metrics.connectionEnded(event);
      context.state.connectionEnded(event);
      try {
        context.sink?.(event);
      } catch (sinkError) {
        // A failing audit sink must not take the proxy down with it; the caller decides what it means.
        context.onSinkError(sinkError);
      }
    },
  };
}
