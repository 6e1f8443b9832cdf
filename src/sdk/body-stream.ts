/**
 * A request body read as it is sent: what the caller hands over (a web ReadableStream, or any async
 * iterable such as a Node stream or a tar packer) as the ReadableStream fetch takes.
 */
import { invalidArgument } from './errors.ts';

export type ByteSource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * `source` as a ReadableStream pulled chunk by chunk: nothing is read ahead of what fetch sends, so a
 * body of any size costs one chunk of memory. When fetch stops early (the server refused the body,
 * the call was aborted) the source is told to stop too, so a packer walking a directory stops with it.
 * `onSourceError` learns why the source failed, since fetch only says that the request did.
 */
export function bodyStream(
  source: ByteSource,
  onSourceError: (error: unknown) => void,
): ReadableStream<Uint8Array> {
  if (source instanceof ReadableStream) return source;
  if (typeof (source as Partial<AsyncIterable<Uint8Array>>)[Symbol.asyncIterator] !== 'function') {
    throw invalidArgument('an archive is a Uint8Array, a ReadableStream or an async iterable of Uint8Array');
  }
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const step = await iterator.next();
        if (step.done === true) {
          controller.close();
          return;
        }
        // Anything else would be sent as its string form: refuse it instead of corrupting the archive.
        if (!(step.value instanceof Uint8Array)) {
          await iterator.return?.();
          throw invalidArgument('an archive stream must give Uint8Array chunks');
        }
        controller.enqueue(step.value);
      } catch (error) {
        // fetch reports a failed body as a failed connection; the caller is told the real cause.
        onSourceError(error);
        throw error;
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}
