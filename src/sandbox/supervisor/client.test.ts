import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../errors/index.ts';
import {
  entryBytes,
  errorReply,
  exitedReply,
  readTotalReply,
  readyReply,
  reply,
  startedReply,
} from '../../../test/support/supervisor-replies.ts';
import { SupervisorClient } from './client.ts';
import { MAX_INPUT_BYTES, replyTypes } from './protocol.ts';

/** A client wired to streams the test plays the supervisor on. */
function connect(): {
  client: SupervisorClient;
  send(...frames: Buffer[]): void;
  end(): void;
  /** Everything the client wrote to the supervisor so far. */
  sent(): Buffer;
} {
  const toSupervisor = new PassThrough();
  const fromSupervisor = new PassThrough();
  const written: Buffer[] = [];
  toSupervisor.on('data', (chunk: Buffer) => written.push(chunk));
  const client = new SupervisorClient(toSupervisor, fromSupervisor);
  return {
    client,
    send: (...frames) => fromSupervisor.write(Buffer.concat(frames)),
    end: () => fromSupervisor.end(),
    sent: () => Buffer.concat(written),
  };
}

const request = {
  executable: '/bin/sh',
  argv: ['sh', '-c', 'true'],
  env: {},
  cwd: '/workspace',
  timeoutMs: 1000,
  stdin: Buffer.alloc(0),
};

function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

/** Lets the streams deliver what was written. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function expectViolation(error: unknown): void {
  expect(isAirlockError(error), String(error)).toBe(true);
  expect(error).toMatchObject({ code: 'SANDBOX_LOST', details: { reason: 'protocol_violation' } });
}

describe('SupervisorClient', () => {
  it('sends typed input one frame at a time and believes only acknowledgements it is owed', async () => {
    const okWith = (id: number, written: number): Buffer => {
      const payload = Buffer.alloc(4);
      payload.writeUInt32LE(written, 0);
      return reply(replyTypes.ok, id, payload);
    };
    const { client, send, sent } = connect();
    send(readyReply());
    await client.ready;
    const { id, exited, input } = client.exec(
      { ...request, pty: { cols: 80, rows: 24 } },
      {
        onStdout: () => undefined,
        onStderr: () => undefined,
      },
    );
    send(startedReply(id, 99));
    const first = input.write(Buffer.from('ls\r'));
    // A second write before the first is acknowledged is refused: the supervisor holds one frame.
    await expect(input.write(Buffer.from('x'))).rejects.toThrow(/one input write at a time/);
    await expect(input.write([Buffer.alloc(MAX_INPUT_BYTES), Buffer.alloc(1)])).rejects.toThrow(RangeError);
    expect(() => input.resize(0, 10)).toThrow(RangeError);
    send(okWith(id, 3));
    expect(await first).toBe(3);
    // Pieces go out as one frame, in order, as large as a bulk stream needs (a tree into tar).
    const bulk = [Buffer.alloc(MAX_INPUT_BYTES - 2, 7), Buffer.from('ab')];
    const before = sent().length;
    const streamed = input.write(bulk);
    await flush();
    const frame = sent().subarray(before);
    expect(frame.readUInt32LE(0)).toBe(MAX_INPUT_BYTES + 5);
    expect(frame.subarray(9).equals(Buffer.concat(bulk))).toBe(true);
    send(okWith(id, MAX_INPUT_BYTES));
    expect(await streamed).toBe(MAX_INPUT_BYTES);
    // An acknowledgement of more than was sent is forged (adversarial): the sandbox is ended.
    const outcome = settle(exited);
    const second = input.write(Buffer.from('a'));
    send(okWith(id, 2));
    await flush();
    expectViolation((await outcome).error);
    expect(await second).toBe(0);
  });

  it('ends the sandbox for an input acknowledgement nobody asked for (adversarial)', async () => {
    const { client, send } = connect();
    send(readyReply());
    await client.ready;
    const { id, exited } = client.exec(request, { onStdout: () => undefined, onStderr: () => undefined });
    const outcome = settle(exited);
    send(reply(replyTypes.ok, id, Buffer.alloc(4)));
    await flush();
    expectViolation((await outcome).error);
  });

  it('runs a command, reads a file and lists a directory over an honest channel', async () => {
    const { client, send } = connect();
    send(readyReply());
    await client.ready;
    const out: string[] = [];
    const { id, exited } = client.exec(request, {
      onStdout: (chunk) => out.push(chunk.toString()),
      onStderr: () => {},
    });
    send(startedReply(id), reply(replyTypes.stdout, id, Buffer.from('hi\n')), exitedReply(id, { code: 3 }));
    expect(await exited).toMatchObject({ exitCode: 3, timedOut: false });
    expect(out).toEqual(['hi\n']);

    const read = client.readFile('/workspace/a', 100);
    send(reply(replyTypes.data, 2, Buffer.from('abc')), reply(replyTypes.data, 2, Buffer.from('de')));
    send(readTotalReply(2, 5));
    expect((await read).toString()).toBe('abcde');

    const listed = client.list('/workspace', 10);
    send(reply(replyTypes.data, 3, entryBytes({ kind: 'd', size: 0, mtimeMs: 1, name: 'src' })));
    send(reply(replyTypes.ok, 3));
    expect(await listed).toEqual([{ name: 'src', kind: 'directory', sizeBytes: 0, modifiedMs: 1 }]);
  });

  it('ends the channel, not the process, on the empty exit report of the bwrap exploit (adversarial)', async () => {
    const { client, send } = connect();
    send(readyReply());
    await client.ready;
    const { id, exited } = client.exec(request, { onStdout: () => {}, onStderr: () => {} });
    const other = settle(client.readFile('/tmp/x', 10));
    send(reply(replyTypes.exited, id, Buffer.alloc(0)));
    const result = await settle(exited);
    expectViolation(result.error);
    expectViolation((await other).error);
    expect((await client.violated).details).toMatchObject({
      problem: 'a type 68 reply of 0 bytes (allowed 12..12)',
    });
    expect(client.closed).toBe(true);
    const later = client.exec(request, { onStdout: () => {}, onStderr: () => {} });
    expect((await settle(later.exited)).error).toMatchObject({ code: 'SANDBOX_LOST' });
  });

  it('refuses replies the supervisor was never asked for, or of the wrong kind (adversarial)', async () => {
    const forgeries: ((id: number) => Buffer)[] = [
      (id) => exitedReply(id + 1),
      (id) => reply(replyTypes.data, id, Buffer.from('x')),
      () => readyReply(),
      (id) => reply(replyTypes.ok, id, Buffer.alloc(8)),
    ];
    expect(forgeries.length).toBeGreaterThan(0);
    for (const forge of forgeries) {
      const { client, send } = connect();
      send(readyReply());
      await client.ready;
      const { id, exited } = client.exec(request, { onStdout: () => {}, onStderr: () => {} });
      send(forge(id));
      expectViolation((await settle(exited)).error);
    }
  });

  it('holds at most the file size asked for, and one request at a time (adversarial)', async () => {
    const over = connect();
    over.send(readyReply());
    await over.client.ready;
    const read = settle(over.client.readFile('/tmp/big', 4));
    over.send(reply(replyTypes.data, 1, Buffer.from('abc')), reply(replyTypes.data, 1, Buffer.from('de')));
    expectViolation((await read).error);
    expect((await over.client.violated).message).toMatch(/more than the 4 bytes asked for/);

    const lying = connect();
    lying.send(readyReply());
    await lying.client.ready;
    const short = settle(lying.client.readFile('/tmp/a', 100));
    lying.send(reply(replyTypes.data, 1, Buffer.from('abc')), readTotalReply(1, 2));
    expectViolation((await short).error);

    const interleaved = connect();
    interleaved.send(readyReply());
    await interleaved.client.ready;
    const first = settle(interleaved.client.readFile('/tmp/a', 100));
    const second = settle(interleaved.client.readFile('/tmp/b', 100));
    interleaved.send(
      reply(replyTypes.data, 1, Buffer.from('a')),
      reply(replyTypes.data, 2, Buffer.from('b')),
    );
    expectViolation((await first).error);
    expectViolation((await second).error);
  });

  it('fails only the command whose output consumer threw', async () => {
    const { client, send } = connect();
    send(readyReply());
    await client.ready;
    const broken = client.exec(request, {
      onStdout: () => {
        throw new Error('the terminal went away');
      },
      onStderr: () => {},
    });
    const fine = client.exec(request, { onStdout: () => {}, onStderr: () => {} });
    send(reply(replyTypes.stdout, broken.id, Buffer.from('x')), exitedReply(fine.id));
    expect((await settle(broken.exited)).error).toMatchObject({ message: 'the terminal went away' });
    expect(await fine.exited).toMatchObject({ exitCode: 0 });
    send(exitedReply(broken.id));
    await flush();
    expect(client.closed).toBe(false);
  });

  it('turns an error reply into a typed SANDBOX_REQUEST_FAILED with the errno', async () => {
    const { client, send } = connect();
    send(readyReply());
    await client.ready;
    const { id, exited } = client.exec(request, { onStdout: () => {}, onStderr: () => {} });
    send(errorReply(id, 22, 'malformed exec request'));
    expect((await settle(exited)).error).toMatchObject({
      code: 'SANDBOX_REQUEST_FAILED',
      errno: 22,
      details: { errno: 22 },
    });
  });

  it('never throws, and settles every request, whatever the supervisor sends (adversarial)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
            fc
              .tuple(
                fc.constantFrom(...Object.values(replyTypes)),
                fc.nat(6),
                fc.uint8Array({ maxLength: 40 }),
              )
              .map(([type, id, bytes]) => reply(type, id, Buffer.from(bytes))),
            fc.nat(6).map((id) => exitedReply(id)),
            fc.nat(6).map((id) => readTotalReply(id, 0)),
          ),
          { maxLength: 25 },
        ),
        async (chunks) => {
          const { client, send, end } = connect();
          send(readyReply());
          await client.ready;
          const settled = [
            settle(client.exec(request, { onStdout: () => {}, onStderr: () => {} }).exited),
            settle(client.readFile('/tmp/a', 16)),
            settle(client.list('/tmp', 3)),
            settle(
              client.writeFile('/tmp/b', [Buffer.from('x')], {
                mode: 0o644,
                createParents: false,
                append: false,
              }),
            ),
          ];
          for (const chunk of chunks) send(chunk);
          await flush();
          end();
          const results = await Promise.all(settled);
          expect(results).toHaveLength(4);
          for (const result of results) {
            if (result.error !== undefined)
              expect(isAirlockError(result.error), String(result.error)).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
