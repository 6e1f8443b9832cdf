/**
 * `npm run screenshots` (scripts/screenshots.ts), which writes the README's pictures: run as written,
 * into a temporary directory, it writes every view at both sizes, each a PNG of that size.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeInChromium } from './browser.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const VIEWS = ['agent-run', 'approval', 'audit', 'commands', 'egress', 'session', 'sessions', 'sign-in'];
const SIZES = { desktop: [1280, 720], phone: [390, 844] } as const;

/** Width and height from a PNG's IHDR chunk, which follows the 8-byte signature and the chunk header. */
function pngSize(path: string): [number, number] {
  const bytes = readFileSync(path);
  expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

describeInChromium('npm run screenshots', () => {
  const out = mkdtempSync(join(tmpdir(), 'airlock-screenshots-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes each view of the dashboard at a laptop and a phone size', { timeout: 240_000 }, async () => {
    const child = spawn(process.execPath, ['scripts/screenshots.ts', '--out', out], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    expect({ code, output }).toMatchObject({ code: 0 });

    const expected = VIEWS.flatMap((view) => Object.keys(SIZES).map((size) => `${view}-${size}.png`));
    expect(readdirSync(out).sort()).toEqual(expected.sort());
    for (const view of VIEWS) {
      for (const [size, dimensions] of Object.entries(SIZES)) {
        expect(pngSize(join(out, `${view}-${size}.png`)), `${view} on a ${size}`).toEqual(dimensions);
      }
    }
  });
});
