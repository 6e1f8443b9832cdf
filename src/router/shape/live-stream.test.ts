import { describe, expect, it } from 'vitest';
import { LiveLineStream, MAX_HELD_BYTES, MAX_LINE_BYTES } from './live-stream.ts';
import { LiveTail } from './live-tail.ts';
import { createRedactor, type Redactor } from './redact.ts';

// Secrets are assembled at run time so this file holds no literal a secret scanner would flag.
const githubToken = ['ghp', '_', 'R7tK2mQ9xL4vN8pW3sY6zA1bC5dE0fG2hJ4k'].join('');
const bearerToken = ['tok', '_9f8e7d6c5b4a39281706f5e4d3c2b1a0'].join('');
const envSecret = 'correct-horse-battery-staple-42';
const keyLines = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIEowIBAAKCAQEA7x2kQ9mL4vN8pW3sY6zA1bC5dE0fG2hJ4kR7tK2mQ9xL4vN8pW3s',
  'Y6zA1bC5dE0fG2hJ4kZ9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1g0F9e8D7c6B5',
  '-----END RSA PRIVATE KEY-----',
];
const keyBodies = keyLines.slice(1, 3);

interface Emitted {
  readonly text: string;
  readonly marker: boolean;
}

function streamOf(redactor: Redactor = createRedactor()): {
  lines: LiveLineStream;
  emitted: Emitted[];
  all: () => string;
} {
  const emitted: Emitted[] = [];
  const lines = new LiveLineStream({ redactor, emit: (text, marker) => emitted.push({ text, marker }) });
  return { lines, emitted, all: () => emitted.map((e) => e.text).join('') };
}

function inChunks(text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text);
  return Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
    bytes.subarray(i * size, (i + 1) * size),
  );
}

/** Feeds `text` cut at the given byte offsets, then ends the stream. */
function feed(lines: LiveLineStream, text: string | Buffer, cuts: readonly number[]): void {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    lines.write(bytes.subarray(from, cut));
    from = cut;
  }
  lines.end();
}

describe('LiveLineStream: whole lines', () => {
  it('emits complete lines as they arrive and keeps the unfinished one until its line ends', () => {
    const { lines, emitted } = streamOf();
    lines.write(Buffer.from('one\ntw'));
    expect(emitted.map((e) => e.text)).toEqual(['one\n']);
    lines.write(Buffer.from('o\nthree'));
    expect(emitted.map((e) => e.text)).toEqual(['one\n', 'two\n']);
    lines.end();
    expect(emitted.map((e) => e.text)).toEqual(['one\n', 'two\n', 'three']);
    expect(emitted.every((e) => !e.marker)).toBe(true);
  });

  it('treats a carriage return as the end of a line, so progress output shows as it is redrawn', () => {
    const { lines, emitted } = streamOf();
    lines.write(Buffer.from('progress 10%\rprogress 2'));
    lines.write(Buffer.from(`0% ${githubToken}\r`));
    expect(emitted.map((e) => e.text)).toEqual(['progress 10%\r', 'progress 20% [REDACTED:github-token]\r']);
  });

  it('never shows a secret split across two chunks, at any split point (adversarial)', () => {
    const redactor = createRedactor({ secrets: [{ name: 'DB_PASSWORD', value: envSecret }] });
    const text = `token ${githubToken} and ${envSecret}\nAuthorization: Bearer ${bearerToken}\ndone\n`;
    const bytes = Buffer.from(text);
    const splits = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    expect(splits.length).toBeGreaterThan(0);
    for (const split of splits) {
      const { lines, emitted, all } = streamOf(redactor);
      feed(lines, bytes, [split]);
      for (const { text: piece } of emitted) {
        expect(piece, `split at ${split}`).not.toContain(githubToken.slice(4, 20));
        expect(piece, `split at ${split}`).not.toContain(envSecret.slice(0, 12));
        expect(piece, `split at ${split}`).not.toContain(bearerToken.slice(4, 20));
      }
      expect(all()).toBe(redactor.redact(text).text);
    }
  });

  it('decodes a multi-byte UTF-8 character split across chunks, at every byte', () => {
    const text = 'héllo wörld 日本語 😀 done\nnext ✓\n';
    const bytes = Buffer.from(text);
    for (let split = 1; split < bytes.length; split += 1) {
      const { lines, all } = streamOf();
      feed(lines, bytes, [split]);
      expect(all(), `split at ${split}`).toBe(text);
    }
    const { lines, all } = streamOf();
    feed(
      lines,
      bytes,
      Array.from({ length: bytes.length - 1 }, (_, i) => i + 1),
    );
    expect(all()).toBe(text);
    expect(all()).not.toContain('\uFFFD');
  });
});

describe('LiveLineStream: secrets that span lines', () => {
  it('holds a private key block until its END line and emits it as one redacted block', () => {
    const text = `before\n${keyLines.join('\n')}\nafter\n`;
    const bytes = Buffer.from(text);
    // Line by line, byte by byte, and at a few odd places.
    const cutsets = [
      [...text.matchAll(/\n/g)].map((m) => (m.index ?? 0) + 1).slice(0, -1),
      Array.from({ length: bytes.length - 1 }, (_, i) => i + 1),
      [3, 20, 45, 90, 150],
    ];
    expect(cutsets.every((cuts) => cuts.length > 0)).toBe(true);
    for (const cuts of cutsets) {
      const { lines, emitted, all } = streamOf();
      feed(lines, bytes, cuts);
      for (const { text: piece } of emitted) {
        for (const body of keyBodies) expect(piece).not.toContain(body.slice(0, 24));
      }
      expect(all()).toBe('before\n[REDACTED:private-key]\nafter\n');
    }
  });

  it('emits the lines before a key at once and nothing of the key while its END is missing', () => {
    const { lines, all } = streamOf();
    lines.write(Buffer.from(`before\n${keyLines[0]}\n${keyLines[1]}\n`));
    expect(all()).toBe('before\n');
    lines.end();
    expect(all()).toBe('before\n[REDACTED:private-key]');
  });

  it('withholds a key block that grows past the cap, through its END, with a marker (adversarial)', () => {
    const { lines, emitted, all } = streamOf();
    lines.write(Buffer.from(`before\n${keyLines[0]}\n`));
    const body = `${keyBodies[0]}\n`;
    for (let held = 0; held < MAX_HELD_BYTES + body.length; held += body.length) {
      lines.write(Buffer.from(body));
    }
    lines.write(Buffer.from(`${keyBodies[1]}\n${keyLines[3]}\nafter\n`));
    lines.end();
    expect(all()).not.toContain(keyBodies[0]?.slice(0, 24));
    expect(all()).not.toContain(keyBodies[1]?.slice(0, 24));
    expect(all()).toMatch(
      /^before\n\[\d+ bytes of a private key block withheld from the live stream\]\n\nafter\n$/,
    );
    expect(emitted.filter((e) => e.marker)).toHaveLength(1);
  });

  it('counts what it holds in bytes: a key block of multi-byte text is withheld at the same size (adversarial)', () => {
    const { lines, emitted, all } = streamOf();
    lines.write(Buffer.from(`before\n${keyLines[0]}\n`));
    // Two bytes per character: past the cap in bytes while still well under it in characters.
    const body = `${'é'.repeat(1000)}\n`;
    let heldBytes = 0;
    let heldChars = 0;
    while (heldBytes <= MAX_HELD_BYTES) {
      lines.write(Buffer.from(body));
      heldBytes += Buffer.byteLength(body);
      heldChars += body.length;
    }
    expect(heldChars).toBeLessThan(MAX_HELD_BYTES * 0.6);
    expect(emitted.filter((e) => e.marker)).toHaveLength(0);
    lines.write(Buffer.from(`${keyLines[3]}\nafter\n`));
    lines.end();
    const marker =
      /^before\n\[(\d+) bytes of a private key block withheld from the live stream\]\n\nafter\n$/;
    expect(all()).toMatch(marker);
    expect(all()).not.toContain('é');
    const withheld = Number(marker.exec(all())?.[1]);
    expect(withheld).toBe(
      Buffer.byteLength(`${keyLines[0]}\n`) + heldBytes + Buffer.byteLength(keyLines[3] ?? ''),
    );
  });

  it('holds the first line of a configured value that spans lines until the value is complete', () => {
    const value = '{\n  "client_secret": "s3cr3t-vAlue-xyz"\n}';
    const redactor = createRedactor({ secrets: [{ name: 'CREDENTIALS', value }] });
    const text = `start\n${value}\nend\n`;
    const cuts = [...text.matchAll(/\n/g)].map((m) => (m.index ?? 0) + 1).slice(0, -1);
    expect(cuts.length).toBeGreaterThan(2);
    const { lines, emitted, all } = streamOf(redactor);
    feed(lines, text, cuts);
    for (const { text: piece } of emitted) expect(piece).not.toContain('s3cr3t-vAlue-xyz');
    expect(all()).toBe('start\n[REDACTED:env:CREDENTIALS]\nend\n');
  });

  it('releases a held line as soon as the next line shows it is not the start of a value', () => {
    const redactor = createRedactor({
      secrets: [{ name: 'CREDENTIALS', value: '{\n  "k": "v4lue-long"\n}' }],
    });
    const { lines, all } = streamOf(redactor);
    lines.write(Buffer.from('{\n'));
    expect(all()).toBe('');
    lines.write(Buffer.from('  "other": 1\n'));
    expect(all()).toBe('{\n  "other": 1\n');
  });
});

describe('LiveLineStream: long lines', () => {
  it('cuts a 70 KiB line at whitespace and redacts the token in it', () => {
    const words = Array.from({ length: 12_000 }, (_, i) => `w${i}`).join(' ');
    const text = `${words.slice(0, 30_000)} ${githubToken} ${words.slice(30_000)}`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(70 * 1024);
    const { lines, emitted, all } = streamOf();
    for (const chunk of inChunks(text, 4096)) lines.write(chunk);
    expect(emitted.length).toBeGreaterThan(0); // shown before the line ends
    lines.end();
    for (const { text: piece } of emitted) expect(piece).not.toContain(githubToken.slice(4, 20));
    expect(all()).toBe(text.replace(githubToken, '[REDACTED:github-token]'));
  });

  it('withholds a 70 KiB line without whitespace, token and all, with a marker; the next line shows', () => {
    const blob = `${'x'.repeat(40_000)}${githubToken}${'y'.repeat(30_000)}`;
    const { lines, emitted, all } = streamOf();
    feed(lines, `${blob}\nnext line\n`, [20_000, 50_000, 65_000, 70_000]);
    for (const { text: piece } of emitted) expect(piece).not.toContain(githubToken.slice(4, 20));
    const bytes = Buffer.byteLength(blob) + 1;
    expect(all()).toBe(
      `[${bytes} bytes without a line break withheld from the live stream; page them with the outputId once the command ends]\nnext line\n`,
    );
    expect(emitted.filter((e) => e.marker)).toHaveLength(1);
  });

  it('does not cut between a header name and its value (adversarial: the cut lands in the gap)', () => {
    // Filler of single-space-separated words, arranged so that the last whitespace before the cut
    // region is the space between "Bearer" and the token.
    const header = `Authorization: Bearer ${bearerToken}`;
    const redactor = createRedactor();
    for (const lookahead of [4096, 4096 + 10, 4096 + 40, 5000]) {
      const tokenAt = MAX_LINE_BYTES + 512 - lookahead;
      const filler = 'ab '.repeat(Math.ceil(tokenAt / 3)).slice(0, tokenAt - 'Authorization: Bearer '.length);
      const rest = 'z'.repeat(MAX_LINE_BYTES + 1024 - tokenAt - bearerToken.length);
      const text = `${filler}${header}${rest}`;
      const { lines, emitted, all } = streamOf(redactor);
      feed(lines, `${text}\n`, [MAX_LINE_BYTES + 600]);
      for (const { text: piece } of emitted) expect(piece).not.toContain(bearerToken.slice(4, 20));
      expect(all()).toContain('[REDACTED:');
    }
  });

  it('cuts before a key header inside a long line and withholds the key', () => {
    const filler = 'word '.repeat(8000);
    const text = `${filler}${keyLines[0]}${keyBodies[0]?.repeat(1200)}\n${keyBodies[1]}\n${keyLines[3]}\nafter\n`;
    const { lines, all } = streamOf();
    for (const chunk of inChunks(text, 4096)) lines.write(chunk);
    lines.end();
    expect(all()).not.toContain(keyBodies[0]?.slice(0, 24));
    expect(all()).not.toContain(keyBodies[1]?.slice(0, 24));
    expect(all().startsWith(filler)).toBe(true);
    expect(all().slice(filler.length)).toMatch(
      /^\n\[\d+ bytes of a private key block withheld from the live stream\]\n\nafter\n$/,
    );
  });
});

describe('LiveTail: the window after its start was dropped', () => {
  it('starts after the END of a key block whose BEGIN left the window (adversarial)', () => {
    const tail = new LiveTail(200);
    tail.write(Buffer.from(`${'filler line\n'.repeat(20)}${keyLines.join('\n')}\nafter\n`));
    expect(tail.text()).toBe('\nafter\n');
    // Mid-key: the END has not come yet, so nothing can be shown.
    const open = new LiveTail(100);
    open.write(Buffer.from(`${keyLines[0]}\n${keyBodies[0]}\n${keyBodies[1]}\n`));
    expect(open.text()).toBe('');
  });

  it('hands a subscriber the window and every later chunk, and the stream skips to a clean start', () => {
    const tail = new LiveTail(64);
    tail.write(Buffer.from(`${'0123456789'.repeat(10)}\nkept line\n`));
    const received: Buffer[] = [];
    const subscription = tail.subscribe((chunk) => received.push(chunk));
    tail.write(Buffer.from('later\n'));
    subscription.unsubscribe();
    tail.write(Buffer.from('unseen\n'));
    expect(received.map(String)).toEqual(['later\n']);
    expect(subscription.windowStart.midLine).toBe(true);

    const emitted: string[] = [];
    const lines = new LiveLineStream({
      redactor: createRedactor(),
      emit: (text) => emitted.push(text),
      start: subscription.windowStart,
    });
    lines.write(subscription.window);
    for (const chunk of received) lines.write(chunk);
    lines.end();
    expect(emitted.join('')).toMatch(
      /^\[… \d+ bytes of earlier output are not in the live window; [^\]]*\]\nkept line\nlater\n$/,
    );
  });
});
