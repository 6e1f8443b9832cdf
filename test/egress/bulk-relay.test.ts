/**
 * Bulk tunnels handed from the proxy to the helper's relay process (src/egress/bulk-relay.ts,
 * native/relay.c): the bytes arrive intact and in order both ways, every byte is still counted in
 * the connection's audit event, and the proxy still ends the connection (session closed, idle).
 * The helper is wrapped in a script that records each relay it starts, so a test knows the handoff
 * happened and can see that the relay process is gone afterwards.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { defaultHelperPath, isExecutable } from '../../src/sandbox/index.ts';
import {
  bulkUpstream,
  hashingUpstream,
  connectTunnel,
  recordingHelper,
  loopbackPolicy,
  startProxy,
  waitFor,
} from './support.ts';

const helperBuilt = isExecutable(defaultHelperPath);

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** User and system CPU time of a process so far, in clock ticks (a hundredth of a second on Linux). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Reads `socket`, pausing it once past `stopAfter` bytes; the caller resumes it. */
function readStoppingOnce(socket: Socket, stopAfter: number, digest?: Hash): { received: () => number } {
  let received = 0;
  let stopped = false;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    digest?.update(chunk);
    if (!stopped && received > stopAfter) {
      stopped = true;
      socket.pause();
    }
  });
  socket.resume();
  return { received: () => received };
}

async function readAll(socket: Socket): Promise<{ received: number; digest: string }> {
  const digest = createHash('sha256');
  let received = 0;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    digest.update(chunk);
  });
  await once(socket, 'end');
  return { received, digest: digest.digest('hex') };
}

describe.skipIf(!helperBuilt)('egress proxy: bulk tunnels handed to the relay', () => {
  it('hands a large download to a relay that delivers it intact to a slow reader, and counts every byte', async () => {
    const helper = await recordingHelper();
    const body = randomBytes(24 * 1024 * 1024);
    const upstream = await bulkUpstream(body);
    const { proxy, events } = await startProxy({ relayHelperPath: helper.path });
    const session = await proxy.openSession('ses_relay', {
      network: loopbackPolicy('allowlist', [['bulk.example.test', upstream.port]]),
    });
    const tunnel = await connectTunnel(session.socketPath, `bulk.example.test:${upstream.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    tunnel.socket.pause();
    tunnel.socket.write('x');
    // The proxy's writes stall while nothing reads: the handoff must wait for them to drain.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const reading = readAll(tunnel.socket);
    tunnel.socket.resume();
    expect(await reading).toEqual({ received: body.length, digest: sha256(body) });
    tunnel.socket.destroy();
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({ decision: 'allowed', bytesDown: body.length, bytesUp: 1 });
    expect(helper.relays()).toHaveLength(1);
    await waitFor(() => !alive(helper.relays()[0]!));
  });

  it('waits without spinning while the reader stops, then delivers the rest intact', async () => {
    const helper = await recordingHelper();
    const body = randomBytes(48 * 1024 * 1024);
    const upstream = await bulkUpstream(body);
    const { proxy } = await startProxy({ relayHelperPath: helper.path });
    const session = await proxy.openSession('ses_stalled', {
      network: loopbackPolicy('allowlist', [['bulk.example.test', upstream.port]]),
    });
    const tunnel = await connectTunnel(session.socketPath, `bulk.example.test:${upstream.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    const digest = createHash('sha256');
    const reading = readStoppingOnce(tunnel.socket, 12 * 1024 * 1024, digest);
    tunnel.socket.write('x');
    await waitFor(() => helper.relays().length === 1 && tunnel.socket.isPaused());
    const relay = helper.relays()[0]!;
    // Its buffers fill, and then the relay must sleep until the reader takes something: a full pipe
    // still leaves the upstream readable, and polling it would wake the relay round after round.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = cpuTicks(relay);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(cpuTicks(relay) - before).toBeLessThan(20);
    const ended = once(tunnel.socket, 'end');
    tunnel.socket.resume();
    await ended;
    expect({ received: reading.received(), digest: digest.digest('hex') }).toEqual({
      received: body.length,
      digest: sha256(body),
    });
    tunnel.socket.destroy();
  });

  it('relays a large upload and the half-close after it, then the answer back', async () => {
    const helper = await recordingHelper();
    const port = await hashingUpstream();
    const { proxy, events } = await startProxy({ relayHelperPath: helper.path });
    const session = await proxy.openSession('ses_upload', {
      network: loopbackPolicy('allowlist', [['sink.example.test', port]]),
    });
    const tunnel = await connectTunnel(session.socketPath, `sink.example.test:${port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    const body = randomBytes(24 * 1024 * 1024);
    const answer: Buffer[] = [];
    tunnel.socket.on('data', (chunk: Buffer) => answer.push(chunk));
    tunnel.socket.resume();
    // Written in pieces, as a tool streams a file.
    for (let offset = 0; offset < body.length; offset += 1024 * 1024) {
      if (!tunnel.socket.write(body.subarray(offset, offset + 1024 * 1024)))
        await once(tunnel.socket, 'drain');
      // The handoff waits for a moment with nothing in flight either way, which a busy machine may
      // not give before a fast upload ends: the writer pauses once, past the handoff size, so the
      // rest (and the half-close) is relayed for certain.
      if (offset === 8 * 1024 * 1024) await waitFor(() => helper.relays().length === 1);
    }
    tunnel.socket.end();
    await once(tunnel.socket, 'end');
    expect(Buffer.concat(answer).toString()).toBe(`${body.length} ${sha256(body)}`);
    tunnel.socket.destroy();
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({ decision: 'allowed', bytesUp: body.length });
    expect(helper.relays()).toHaveLength(1);
  });

  it('ends a relayed connection, relay process included, when the session closes', async () => {
    const helper = await recordingHelper();
    const body = randomBytes(64 * 1024 * 1024);
    const upstream = await bulkUpstream(body);
    const { proxy, events } = await startProxy({ relayHelperPath: helper.path });
    const session = await proxy.openSession('ses_close', {
      network: loopbackPolicy('allowlist', [['bulk.example.test', upstream.port]]),
    });
    const tunnel = await connectTunnel(session.socketPath, `bulk.example.test:${upstream.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    // Past the handoff, the reader stops once: the relay holds the rest back.
    const reading = readStoppingOnce(tunnel.socket, 16 * 1024 * 1024);
    tunnel.socket.write('x');
    await waitFor(() => helper.relays().length === 1 && tunnel.socket.isPaused());
    const relay = helper.relays()[0]!;
    expect(alive(relay)).toBe(true);
    // What the relay may do: nothing of the proxy's environment (secrets' values live there), no new
    // privileges, and root's uid shed for nobody's.
    const environment = readFileSync(`/proc/${relay}/environ`, 'latin1').split('\0');
    // (PWD is the recording wrapper's: a shell sets it.)
    expect(environment.filter((entry) => entry !== '' && !entry.startsWith('PWD='))).toEqual([]);
    const status = readFileSync(`/proc/${relay}/status`, 'utf8');
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    if (process.getuid?.() === 0) expect(status).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    const ended = once(tunnel.socket, 'close');
    await session.close();
    tunnel.socket.resume();
    await ended;
    expect(reading.received()).toBeLessThan(body.length);
    await waitFor(() => !alive(relay));
    await waitFor(() => events.length === 1);
    // Stopped, the relay still reported what it moved: the event counts what the client received.
    expect(events[0]!.bytesDown).toBeGreaterThanOrEqual(reading.received());
  });

  it('ends a relayed connection that moves nothing for the idle timeout and records why', async () => {
    const helper = await recordingHelper();
    const body = randomBytes(32 * 1024 * 1024);
    const upstream = await bulkUpstream(body);
    const { proxy, events } = await startProxy({
      relayHelperPath: helper.path,
      limits: { idleTimeoutMs: 400 },
    });
    const session = await proxy.openSession('ses_idle', {
      network: loopbackPolicy('allowlist', [['bulk.example.test', upstream.port]]),
    });
    const tunnel = await connectTunnel(session.socketPath, `bulk.example.test:${upstream.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    let received = 0;
    tunnel.socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > 8 * 1024 * 1024) tunnel.socket.pause();
    });
    tunnel.socket.resume();
    tunnel.socket.write('x');
    await waitFor(() => helper.relays().length === 1);
    // Never resumed: the relay sees nothing move, ends, and the proxy closes the client's side.
    await waitFor(() => events.length === 1, 5_000);
    expect(events[0]).toMatchObject({ decision: 'allowed', error: 'idle_timeout' });
    expect(events[0]!.bytesDown).toBeGreaterThanOrEqual(received);
    await waitFor(() => !alive(helper.relays()[0]!));
  });

  it('keeps a small transfer in the proxy: no relay is started for it', async () => {
    const helper = await recordingHelper();
    const body = randomBytes(256 * 1024);
    const upstream = await bulkUpstream(body);
    const { proxy } = await startProxy({ relayHelperPath: helper.path });
    const session = await proxy.openSession('ses_small', {
      network: loopbackPolicy('allowlist', [['bulk.example.test', upstream.port]]),
    });
    const tunnel = await connectTunnel(session.socketPath, `bulk.example.test:${upstream.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    const reading = readAll(tunnel.socket);
    tunnel.socket.resume();
    tunnel.socket.write('x');
    expect(await reading).toEqual({ received: body.length, digest: sha256(body) });
    expect(helper.relays()).toEqual([]);
  });
});
