import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createNeedleScanner, createStreamReplacer } from './byte-replace.ts';

const NEEDLE = Buffer.from('airlock-secret-API_TOKEN-0123');

describe('byte replacement in chunked streams', () => {
  it('passes a chunk on whole unless its tail could begin a needle', () => {
    const replacer = createStreamReplacer([{ needle: NEEDLE }]);
    expect(replacer.push(Buffer.from('PING\r\n'))).toEqual({ ok: true, output: Buffer.from('PING\r\n') });
    // "air" may begin the needle: held until the next chunk says whether it does.
    expect(replacer.push(Buffer.from('hello air'))).toEqual({ ok: true, output: Buffer.from('hello ') });
    expect(replacer.push(Buffer.from('port'))).toEqual({ ok: true, output: Buffer.from('airport') });
    expect(replacer.flush()).toEqual(Buffer.alloc(0));
  });
});

describe('needle scanner for unparsed streams', () => {
  /** Feeds `stream` cut at `cuts`, releasing the held tail after the chunks `releases` names. */
  function feed(stream: Buffer, cuts: readonly number[], releases: ReadonlySet<number>) {
    const scanner = createNeedleScanner([Buffer.from('other-needle'), NEEDLE]);
    const forwarded: Buffer[] = [];
    let at = 0;
    let index = 0;
    for (const size of [...cuts, stream.length]) {
      if (at >= stream.length) break;
      const pushed = scanner.push(stream.subarray(at, at + size));
      at += size;
      if (!pushed.ok) return { stopped: pushed.needleIndex, forwarded: Buffer.concat(forwarded) };
      forwarded.push(pushed.output);
      if (releases.has(index++)) forwarded.push(scanner.release());
    }
    forwarded.push(scanner.release());
    return { stopped: -1, forwarded: Buffer.concat(forwarded) };
  }

  const cuts = fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 20 });
  const releases = fc.uniqueArray(fc.nat({ max: 20 })).map((list) => new Set(list));

  it('stops a stream at a needle cut across chunks and released tails, never forwarding all of it (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 120 }),
        fc.uint8Array({ maxLength: 120 }),
        cuts,
        releases,
        (a, b, c, r) => {
          const { stopped, forwarded } = feed(Buffer.concat([a, NEEDLE, b]), c, r);
          expect(stopped).toBe(1);
          expect(forwarded.includes(NEEDLE)).toBe(false);
        },
      ),
    );
  });

  it('loses, reorders and adds no byte of a stream without a needle (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z\-_ ]{0,150}$/), cuts, releases, (text, c, r) => {
        fc.pre(!text.includes(NEEDLE.toString()) && !text.includes('other-needle'));
        const { stopped, forwarded } = feed(Buffer.from(text), c, r);
        expect(stopped).toBe(-1);
        expect(forwarded.toString()).toBe(text);
      }),
    );
  });

  it('holds back only a tail that begins a needle', () => {
    const scanner = createNeedleScanner([NEEDLE]);
    expect(scanner.push(Buffer.from('PING\r\n'))).toEqual({ ok: true, output: Buffer.from('PING\r\n') });
    expect(scanner.held()).toBe(0);
    expect(scanner.push(Buffer.from('SET a'))).toEqual({ ok: true, output: Buffer.from('SET ') });
    expect(scanner.held()).toBe(1);
    expect(scanner.release()).toEqual(Buffer.from('a'));
    expect(scanner.held()).toBe(0);
  });
});
