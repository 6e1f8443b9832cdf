/**
 * A finished command's output as the model reads it, from the streams a sandbox captured: the marker
 * says what the store really keeps and how to page it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CapturedStream } from '../../sandbox/index.ts';
import type { ExecResult } from '../../sandbox/index.ts';
import { createRedactor } from './redact.ts';
import { shapeExecution } from './shape-execution.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function captured(bytes: number, limits = { maxMemoryBytes: 1024 * 1024, maxStoredBytes: 16 * 1024 * 1024 }) {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-shape-'));
  dirs.push(dir);
  const stream = new CapturedStream(join(dir, 'spool'), limits);
  const line = 'line of build output, numbered like a real log ..........................\n';
  let written = 0;
  while (written < bytes) {
    const chunk = Buffer.from(line.slice(0, Math.min(line.length, bytes - written)));
    stream.write(chunk);
    written += chunk.length;
  }
  stream.close();
  return stream;
}

function execOf(stdout: CapturedStream, stderr: CapturedStream): ExecResult {
  return {
    exitCode: 0,
    signal: null,
    timedOut: false,
    oomKilled: false,
    killed: false,
    stdout: stdout.text,
    stderr: stderr.text,
    stdoutStream: stdout,
    stderrStream: stderr,
    truncated: stdout.truncated,
    durationMs: 5,
  };
}

describe('shapeExecution: what the marker says is kept', () => {
  it('keeps 1.29 MB pageable and says so, not that only the in-memory first MiB was stored', () => {
    const total = 1_290_000;
    const shaped = shapeExecution(execOf(captured(total), captured(0)), {
      redactor: createRedactor(),
      maxChars: 5000,
      killRequested: false,
    });
    // The store gets every byte the command wrote.
    expect(shaped.stdoutFull.length).toBe(total);
    expect(shaped.truncated).toBe(true);
    expect(shaped.stdout).not.toContain('1,048,576');
    expect(shaped.stdout).not.toContain('were kept');
    const marker = shaped.stdout.split('\n').find((line) => line.startsWith('… [airlock:'));
    expect(marker).toMatch(
      new RegExp(
        `^… \\[airlock: [\\d,]+ of 1,290,000 characters cut from stdout; read them with read_output output_id=${shaped.outputId} offset=\\d+\\] …$`,
      ),
    );
  });

  it('says where pages end when the command wrote more than is kept (adversarial: a flood)', () => {
    const limits = { maxMemoryBytes: 64 * 1024, maxStoredBytes: 256 * 1024 };
    const shaped = shapeExecution(execOf(captured(400_000, limits), captured(0)), {
      redactor: createRedactor(),
      maxChars: 5000,
      killRequested: false,
    });
    expect(shaped.stdoutFull.length).toBe(256 * 1024);
    expect(shaped.stdout).toContain(
      'only the first 262,144 of 400,000 bytes of stdout were kept, so pages end there',
    );
  });
});
