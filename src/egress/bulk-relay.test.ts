import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { defaultHelperPath, isExecutable } from '../sandbox/index.ts';
import { createBulkRelay, parseRelayReport } from './bulk-relay.ts';

describe('relay reports', () => {
  it('reads the relay line, and anything else as a failed relay', () => {
    expect(parseRelayReport('{"up":5,"down":10,"end":"closed"}\n')).toEqual({
      up: 5,
      down: 10,
      end: 'closed',
    });
    expect(parseRelayReport('{"up":0,"down":3,"end":"idle"}')).toEqual({ up: 0, down: 3, end: 'idle' });
    expect(parseRelayReport('{"up":7,"down":0,"end":"stopped"}')).toEqual({ up: 7, down: 0, end: 'stopped' });
    for (const text of [
      '',
      'garbage',
      '{"up":-1.5,"down":1,"end":"closed"}',
      '{"up":1,"down":1,"end":"other"}',
    ])
      expect(parseRelayReport(text)).toEqual({ up: 0, down: 0, end: 'error' });
  });
});

/** A connected pair of loopback TCP sockets: [the proxy's side, the far side]. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const far = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [near] = (await once(server, 'connection')) as [Socket];
  await once(far, 'connect');
  server.close();
  return [near, far];
}

describe.skipIf(!isExecutable(defaultHelperPath))('the relay mode of the helper', () => {
  it('refuses to run without its arguments or without sockets as fds 3 and 4', () => {
    const bare = spawnSync(defaultHelperPath, ['relay'], { encoding: 'utf8' });
    expect(bare.status).toBe(2);
    expect(bare.stderr).toMatch(/relay wants --idle-ms N --parent PID/);
    // An answer's length must be a positive count, given once.
    const pid = String(process.pid);
    for (const bytes of [['0'], ['-5'], ['12x'], ['5', '--down-bytes', '6']]) {
      const args = ['relay', '--idle-ms', '100', '--parent', pid, '--down-bytes', ...bytes];
      const refused = spawnSync(defaultHelperPath, args, { encoding: 'utf8' });
      expect(refused.status, bytes.join(' ')).toBe(2);
    }
    const devNull = openSync('/dev/null', 'r');
    onTestFinished(() => closeSync(devNull));
    const noSockets = spawnSync(
      defaultHelperPath,
      ['relay', '--idle-ms', '100', '--parent', String(process.pid)],
      {
        encoding: 'utf8',
        // (Node's 'pipe' stdio would be socket pairs: a file is not a socket.)
        stdio: ['ignore', 'pipe', 'pipe', devNull, devNull],
      },
    );
    expect(noSockets.status).toBe(2);
    expect(noSockets.stderr).toMatch(/fds 3 and 4 must be sockets/);
  });

  it('runs at most maxRelays at once and takes new ones when one has ended', async () => {
    const relay = createBulkRelay({ helperPath: defaultHelperPath, idleTimeoutMs: 10_000, maxRelays: 1 });
    const [clientNear, clientFar] = await socketPair();
    const [upstreamNear, upstreamFar] = await socketPair();
    const ended = new Promise((resolve) => {
      expect(relay.handOff(clientNear, upstreamNear, resolve)).toBe(true);
    });
    expect(relay.available()).toBe(false);
    const [otherNear] = await socketPair();
    expect(relay.handOff(otherNear, otherNear, () => {})).toBe(false);
    clientFar.write('ping');
    const [seen] = (await once(upstreamFar, 'data')) as [Buffer];
    expect(seen.toString()).toBe('ping');
    clientFar.end();
    upstreamFar.end();
    expect(await ended).toEqual({ up: 4, down: 0, end: 'closed' });
    expect(relay.available()).toBe(true);
    for (const socket of [clientNear, clientFar, upstreamNear, upstreamFar, otherNear]) socket.destroy();
    relay.close();
    expect(relay.available()).toBe(false);
  });
});
