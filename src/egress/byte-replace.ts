/**
 * Finding and replacing fixed byte strings in a stream that arrives in chunks. A needle may be cut
 * across any chunk boundary, so the last (longest needle − 1) bytes are held back until the next chunk
 * shows whether they begin one. Nothing is buffered beyond that, whatever the stream's length.
 */

export interface ByteReplacement {
  readonly needle: Buffer;
  /** Undefined: finding the needle stops the stream (`push` reports it) instead of replacing it. */
  readonly replacement?: Buffer;
}

export type PushResult =
  | { readonly ok: true; readonly output: Buffer }
  /** A needle without a replacement was found; nothing from this chunk on may be forwarded. */
  | { readonly ok: false; readonly needleIndex: number };

export interface StreamReplacer {
  push(chunk: Buffer): PushResult;
  /** The held-back tail, at the end of the stream. */
  flush(): Buffer;
}

export function createStreamReplacer(replacements: readonly ByteReplacement[]): StreamReplacer {
  const needles = replacements.filter((entry) => entry.needle.length > 0);
  const hold = Math.max(0, ...needles.map((entry) => entry.needle.length - 1));
  let carry = Buffer.alloc(0);
  return {
    push(chunk) {
      const buffer = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
      const parts: Buffer[] = [];
      let at = 0;
      for (;;) {
        const found = earliest(buffer, at, needles);
        if (found === undefined) break;
        const entry = needles[found.index]!;
        if (entry.replacement === undefined) {
          carry = Buffer.alloc(0);
          return { ok: false, needleIndex: replacements.indexOf(entry) };
        }
        parts.push(buffer.subarray(at, found.offset), entry.replacement);
        at = found.offset + entry.needle.length;
      }
      // Held back: bytes that could be the start of a needle completed by the next chunk.
      const keepFrom = Math.max(at, buffer.length - hold);
      parts.push(buffer.subarray(at, keepFrom));
      carry = Buffer.from(buffer.subarray(keepFrom));
      return { ok: true, output: parts.length === 1 ? parts[0]! : Buffer.concat(parts) };
    },
    flush() {
      const rest = carry;
      carry = Buffer.alloc(0);
      return rest;
    },
  };
}

function earliest(
  buffer: Buffer,
  from: number,
  needles: readonly ByteReplacement[],
): { index: number; offset: number } | undefined {
  let best: { index: number; offset: number } | undefined;
  needles.forEach((entry, index) => {
    const offset = buffer.indexOf(entry.needle, from);
    if (offset !== -1 && (best === undefined || offset < best.offset)) best = { index, offset };
  });
  return best;
}

/** Every needle replaced in one whole buffer; `undefined` when a needle without replacement is in it. */
export function replaceAll(buffer: Buffer, replacements: readonly ByteReplacement[]): Buffer | undefined {
  const replacer = createStreamReplacer(replacements);
  const pushed = replacer.push(buffer);
  return pushed.ok ? Buffer.concat([pushed.output, replacer.flush()]) : undefined;
}
