/**
 * Finding and replacing fixed byte strings in a stream that arrives in chunks. A needle may be cut
 * across any chunk boundary, so a chunk's tail that begins a needle is held back until the next chunk
 * shows whether it completes one. Only such a tail is held (never more than the longest needle − 1
 * bytes), and nothing else: a stream whose last bytes cannot begin a needle is passed on whole, so a
 * request-and-reply protocol is never left waiting for bytes the replacer keeps.
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
      // Held back: bytes that begin a needle the next chunk may complete.
      const keepFrom = Math.max(at, buffer.length - needlePrefixAtEnd(buffer, hold, needles));
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

/** The length of the longest tail of `buffer` (at most `hold` bytes) that begins some needle. */
function needlePrefixAtEnd(buffer: Buffer, hold: number, needles: readonly ByteReplacement[]): number {
  for (let length = Math.min(hold, buffer.length); length > 0; length--) {
    const tail = buffer.subarray(buffer.length - length);
    if (
      needles.some((entry) => entry.needle.length > length && entry.needle.subarray(0, length).equals(tail))
    )
      return length;
  }
  return 0;
}

/**
 * Watches a stream the proxy passes through unparsed (a database protocol, ssh's banner exchange) for
 * needles it must stop. Like the replacer it holds back only a tail that begins a needle; unlike it,
 * that tail may be let go (`release`) when no more bytes come for a while, because a request-and-reply
 * protocol would otherwise wait forever for its last bytes. Matching still sees the released bytes: a
 * needle completed after a release stops the stream then, so only its first part, never the whole of
 * it, can have been sent.
 */
export interface NeedleScanner {
  push(chunk: Buffer): PushResult;
  /** How many bytes are held back. */
  held(): number;
  /** The held-back tail, to be forwarded now. */
  release(): Buffer;
}

export function createNeedleScanner(needles: readonly Buffer[]): NeedleScanner {
  const entries = needles.filter((needle) => needle.length > 0).map((needle) => ({ needle }));
  const keep = Math.max(0, ...entries.map((entry) => entry.needle.length - 1));
  /** The last bytes seen (forwarded or not), for a needle cut across chunks. */
  let seen = Buffer.alloc(0);
  let held = Buffer.alloc(0);
  return {
    push(chunk) {
      const buffer = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const found = earliest(buffer, 0, entries);
      if (found !== undefined) {
        held = Buffer.alloc(0);
        return { ok: false, needleIndex: needles.indexOf(entries[found.index]!.needle) };
      }
      const output = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
      const hold = Math.min(output.length, needlePrefixAtEnd(buffer, keep, entries));
      held = Buffer.from(output.subarray(output.length - hold));
      seen = Buffer.from(buffer.subarray(Math.max(0, buffer.length - keep)));
      return { ok: true, output: output.subarray(0, output.length - hold) };
    },
    held: () => held.length,
    release() {
      const rest = held;
      held = Buffer.alloc(0);
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
