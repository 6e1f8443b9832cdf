/**
 * Bulk tunnels leave the proxy's event loop: a pass-through tunnel that has carried HANDOFF_BYTES is
 * handed, both sockets, to a process of the sandbox helper (`airlock-helper relay`, native/relay.c)
 * that joins them with splice(2) until the connection ends and then reports the bytes it moved.
 *
 * Why: the proxy copies every byte it relays into its heap and out again; for a download that was
 * most of the proxy's CPU, and from inside a sandbox (one more hop, the supervisor's bridge) it held
 * the download to well under half of a direct one. splice keeps the bytes in the kernel. A relay
 * costs a process start (about a millisecond), so only a tunnel that has already carried bulk is
 * handed off; small requests never pay for it.
 *
 * Only tunnels the proxy would not read anyway are handed off: TLS end to end or an opaque stream in a
 * session without secrets (there is no placeholder to look for), and no bandwidth limit (the relay
 * does not throttle). The proxy still owns the connection: it stays counted against the session's
 * limit, closing the session or the proxy kills the relay, and its idle timeout goes with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

/**
 * What a relay moved and how it ended; `idle`: nothing moved either way for the idle timeout;
 * `stopped`: the proxy ended the connection (it still reports what moved).
 */
export interface RelayResult {
  readonly up: number;
  readonly down: number;
  readonly end: 'closed' | 'idle' | 'error' | 'stopped';
}

export interface BulkRelay {
  /** Bytes a tunnel carries through the proxy before it is worth handing off. */
  readonly handoffBytes: number;
  /** Whether a relay could start now (one is free); handOff may still fail. */
  available(): boolean;
  /**
   * Hands both sockets to a relay process; from here the proxy must neither read nor write them.
   * False when no relay could start (the caller goes on relaying itself). `done` is called once,
   * when the relay has ended (or was killed), with what it moved.
   */
  handOff(
    client: Socket,
    upstream: Socket,
    done: (result: RelayResult) => void,
    body?: { readonly downBytes: number },
  ): boolean;
  /** Stops every running relay (the proxy is closing); each still reports what it moved. */
  close(): void;
}

export interface BulkRelayOptions {
  /** The sandbox helper binary, which has the relay mode. */
  readonly helperPath: string;
  readonly idleTimeoutMs: number;
  /**
   * Relays at once. Why a bound: each is a process with two 1 MiB pipes of kernel memory, and a
   * sandbox can make every connection bulk; past it, tunnels are relayed by the proxy (slower, not
   * refused).
   */
  readonly maxRelays?: number;
  readonly handoffBytes?: number;
}

const DEFAULT_MAX_RELAYS = 32;
/** A relay asked to stop reports and exits at once; one that has not after this is killed. */
const STOP_GRACE_MS = 2_000;
/** About four milliseconds of relaying in the proxy: a handoff costs about one. */
const DEFAULT_HANDOFF_BYTES = 4 * 1024 * 1024;
/** The relay prints one short line; anything longer is not its report. */
const MAX_REPORT_BYTES = 256;

/** The relay's report line, or an error result when it printed none (killed, or failed to start). */
export function parseRelayReport(text: string): RelayResult {
  try {
    const parsed = JSON.parse(text.trim()) as Partial<Record<keyof RelayResult, unknown>>;
    const { up, down, end } = parsed;
    if (
      Number.isSafeInteger(up) &&
      Number.isSafeInteger(down) &&
      (end === 'closed' || end === 'idle' || end === 'error' || end === 'stopped')
    ) {
      return { up: up as number, down: down as number, end };
    }
  } catch {
    // falls through: not a report
  }
  return { up: 0, down: 0, end: 'error' };
}

/**
 * Once the relay has the sockets, this process must not read them again: every byte it took would be
 * missing from the relayed stream. Node stops reading a socket it hands to a child, but a readable
 * stream also reads ahead on its own (up to its high-water mark, from a tick scheduled by the last
 * read), which would start reading again. Its _read is where that starts; here it does nothing.
 */
function neverReadAgain(socket: Socket): void {
  (socket as unknown as { _read: (size: number) => void })._read = () => {};
}

export function createBulkRelay(options: BulkRelayOptions): BulkRelay {
  const maxRelays = options.maxRelays ?? DEFAULT_MAX_RELAYS;
  const running = new Set<ChildProcess>();
  const stops = new Map<ChildProcess, () => void>();
  let closed = false;
  const available = (): boolean => !closed && running.size < maxRelays;
  return {
    handoffBytes: options.handoffBytes ?? DEFAULT_HANDOFF_BYTES,
    available,
    handOff(client, upstream, done, body) {
      if (!available()) return false;
      let child: ChildProcess;
      try {
        // Sockets in stdio are duplicated into the child as fds 3 and 4, and Node stops reading them
        // here (child_process does so for every stream it hands on), within this same call.
        child = spawn(
          options.helperPath,
          [
            'relay',
            '--idle-ms',
            String(options.idleTimeoutMs),
            '--parent',
            String(process.pid),
            ...(body === undefined ? [] : ['--down-bytes', String(body.downBytes)]),
          ],
          // No environment: the control plane's holds secrets' values (fromEnv), and a relay needs none.
          { stdio: ['ignore', 'pipe', 'ignore', client, upstream], env: {} },
        );
      } catch {
        return false;
      }
      // One answer's body: the client's side stays the HTTP server's to read (its next request) once
      // the relay is done; Node only paused it.
      for (const socket of body === undefined ? [client, upstream] : [upstream]) neverReadAgain(socket);
      if (child.pid === undefined) {
        // Not started (ENOENT, EAGAIN): Node has already stopped reading the sockets, so they are
        // not usable by the caller either; end them like a relay that failed.
        child.on('error', () => {});
        queueMicrotask(() => done({ up: 0, down: 0, end: 'error' }));
        return true;
      }
      running.add(child);
      // The proxy closing either socket (the session ended, the proxy is closing, a limit) ends the
      // connection: the relay's copies of the sockets must not keep it open. Asked first, so it
      // reports what it moved; killed if it does not go.
      let forced: NodeJS.Timeout | undefined;
      const kill = () => {
        if (forced !== undefined || child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        forced = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        forced.unref();
      };
      stops.set(child, kill);
      client.once('close', kill);
      upstream.once('close', kill);
      let report = '';
      child.stdout?.setEncoding('latin1');
      child.stdout?.on('data', (chunk: string) => {
        if (report.length < MAX_REPORT_BYTES) report += chunk;
      });
      child.on('error', () => {});
      child.once('close', () => {
        clearTimeout(forced);
        stops.delete(child);
        running.delete(child);
        client.off('close', kill);
        upstream.off('close', kill);
        done(parseRelayReport(report));
      });
      return true;
    },
    close() {
      closed = true;
      for (const stop of stops.values()) stop();
    },
  };
}
