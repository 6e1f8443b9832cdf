import { describe, expect, it } from 'vitest';
import { DockerStreamDemux } from './demux.ts';

function frame(type: number, payload: string): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(Buffer.byteLength(payload), 4);
  return Buffer.concat([header, Buffer.from(payload)]);
}

async function run(chunks: Buffer[]): Promise<{ stdout: string; stderr: string }> {
  const stderr: Buffer[] = [];
  const demux = new DockerStreamDemux((chunk) => stderr.push(chunk));
  const stdout: Buffer[] = [];
  demux.on('data', (chunk: Buffer) => stdout.push(chunk));
  const done = new Promise((resolve) => demux.once('end', resolve));
  for (const chunk of chunks) demux.write(chunk);
  demux.end();
  await done;
  return { stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() };
}

describe('DockerStreamDemux', () => {
  it('splits stdout from stderr', async () => {
    expect(await run([frame(1, 'out'), frame(2, 'err'), frame(1, '!')])).toEqual({
      stdout: 'out!',
      stderr: 'err',
    });
  });

  it('reassembles headers and payloads split anywhere, one byte at a time (adversarial)', async () => {
    const bytes = Buffer.concat([frame(1, 'hello '), frame(2, 'warn'), frame(1, ''), frame(1, 'world')]);
    const pieces = [...bytes].map((byte) => Buffer.from([byte]));
    expect(pieces.length).toBeGreaterThan(0);
    expect(await run(pieces)).toEqual({ stdout: 'hello world', stderr: 'warn' });
  });

  it('stops taking input while its reader is paused', async () => {
    const demux = new DockerStreamDemux(() => {});
    demux.pause();
    let accepted = true;
    for (let i = 0; i < 64 && accepted; i += 1) accepted = demux.write(frame(1, 'x'.repeat(16384)));
    expect(accepted).toBe(false);
  });
});
