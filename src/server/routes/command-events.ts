/** `GET …/commands/:commandId/events`: a command's output and final status as server-sent events. */
import type { FastifyReply } from 'fastify';
import type { Airlock } from '../../airlock/index.ts';
import { AirlockError } from '../../errors/index.ts';
import { openSse } from '../sse.ts';

/** Streams a command the caller may see (checked before) until it ends or the client goes. */
export async function streamCommandEvents(
  airlock: Airlock,
  params: { readonly id: string; readonly commandId: string },
  reply: FastifyReply,
): Promise<undefined> {
  const clientGone = new AbortController();
  const watch = airlock.commands.watch(params.commandId, {
    signal: clientGone.signal,
    within: params.id,
  });
  const events = watch[Symbol.asyncIterator]();
  // The first step subscribes before it waits for anything, so a refusal (the ninth watcher's
  // LIMIT_REACHED) settles it within a turn of the event loop: it is answered as a plain HTTP
  // error while the status line can still say so. Anything later travels as an event.
  const firstStep = events.next();
  const early = await Promise.race([
    firstStep.then((step) => ({ step })),
    new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined))),
  ]);
  reply.hijack();
  const stream = openSse(reply.raw);
  stream.signal.addEventListener('abort', () => clientGone.abort(), { once: true });
  try {
    let step = early?.step ?? (await firstStep);
    while (step.done !== true) {
      const event = step.value;
      if (event.type === 'output') await stream.send('output', { stream: event.stream, text: event.text });
      else await stream.send('status', event.result);
      step = await events.next();
    }
  } catch (error) {
    // Headers are gone: the failure travels as an event the client can read.
    const known = error instanceof AirlockError ? error : new AirlockError('INTERNAL', 'the stream failed');
    await stream.send('error', { code: known.code, message: known.message });
  } finally {
    stream.close();
    // Ends the watch, and with it the subscription, whichever way the loop ended.
    await events.return?.();
  }
  return undefined;
}
