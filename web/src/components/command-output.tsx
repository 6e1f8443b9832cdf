/**
 * One command's output: streamed while it runs (the server's redacted, line-whole events), and read
 * from the stored output once it ended, one page at a time, so a huge output is never loaded whole.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AirlockClient, RunResult } from '../../../src/sdk/index.ts';
import { useApp } from '../state/context.ts';
import { messageOf } from '../state/resource.ts';
import { LogModel } from './log-model.ts';
import type { OutputStreamName } from './log-model.ts';
import { OutputView } from './output-view.tsx';

/** Characters per page of a stored output. */
const PAGE_CHARS = 200_000;

interface Paging {
  readonly outputId: string;
  readonly next: Readonly<Record<OutputStreamName, number | null>>;
}

async function readPage(
  client: AirlockClient,
  model: LogModel,
  outputId: string,
  stream: OutputStreamName,
  offset: number,
  signal: AbortSignal,
): Promise<number | null> {
  const page = await client.outputs.read(outputId, { stream, offset, limit: PAGE_CHARS, signal });
  model.append(stream, page.text);
  return page.nextOffset;
}

export interface CommandOutputProps {
  readonly sessionId: string;
  readonly commandId: string;
  readonly running: boolean;
  readonly label: string;
  /** The final result, once the stream has it. */
  readonly onResult?: (result: RunResult) => void;
}

export function CommandOutput({ sessionId, commandId, running, label, onResult }: CommandOutputProps) {
  const { client } = useApp();
  const model = useMemo(() => new LogModel(), [sessionId, commandId]);
  // Streamed or read once: a command that ends while streaming keeps its streamed text, never read twice.
  const streaming = useRef(running).current;
  const [live, setLive] = useState(streaming);
  const [paging, setPaging] = useState<Paging | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    const handle = client.commands.connect(sessionId, commandId);
    const loadStored = async (result: RunResult): Promise<void> => {
      onResult?.(result);
      if (result.outputId === null) {
        model.append('stdout', result.stdout);
        model.append('stderr', result.stderr);
        return;
      }
      const outputId = result.outputId;
      const stdout = await readPage(client, model, outputId, 'stdout', 0, signal);
      const stderr = await readPage(client, model, outputId, 'stderr', 0, signal);
      setPaging({ outputId, next: { stdout, stderr } });
    };
    void (async () => {
      try {
        if (!streaming) return await loadStored(await handle.result({ signal }));
        for await (const event of handle.events({ signal })) {
          if (event.type === 'output') model.append(event.stream, event.text);
          else onResult?.(event.result);
        }
        setLive(false);
      } catch (failure) {
        if (!signal.aborted) {
          setLive(false);
          setError(messageOf(failure));
        }
      }
      return undefined;
    })();
    return () => controller.abort();
  }, [client, model, sessionId, commandId, streaming]);

  const more = async (stream: OutputStreamName): Promise<void> => {
    if (paging === null) return;
    const offset = paging.next[stream];
    if (offset === null) return;
    try {
      const next = await readPage(
        client,
        model,
        paging.outputId,
        stream,
        offset,
        new AbortController().signal,
      );
      setPaging({ ...paging, next: { ...paging.next, [stream]: next } });
    } catch (failure) {
      setError(messageOf(failure));
    }
  };

  return (
    <div class="command-output">
      <OutputView model={model} label={label} live={live} />
      {error === null ? null : (
        <p class="error" role="alert">
          Output could not be read: {error}
        </p>
      )}
      {paging !== null && (paging.next.stdout !== null || paging.next.stderr !== null) ? (
        <div class="output__more">
          {(['stdout', 'stderr'] as const).map((stream) =>
            paging.next[stream] === null ? null : (
              <button type="button" class="button" key={stream} onClick={() => void more(stream)}>
                Next page of {stream}
              </button>
            ),
          )}
        </div>
      ) : null}
    </div>
  );
}
