/**
 * Output on the page. The lines live in a <pre> this component writes to directly (text nodes, never
 * markup: an agent's output is shown, never interpreted), at most once a frame, with the oldest
 * nodes removed past a bound so a long stream never grows the page without limit.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LogChunk, LogModel } from './log-model.ts';

/** Lines in the page at once; older ones stay searchable in the model. */
const MAX_SHOWN_LINES = 2_000;
const MAX_MATCHES = 1_000;

function chunkNode(chunk: LogChunk): Node {
  if (chunk.stream === 'stdout') return document.createTextNode(chunk.text);
  const span = document.createElement('span');
  span.className = 'stderr';
  span.textContent = chunk.text;
  return span;
}

export interface OutputViewProps {
  readonly model: LogModel;
  /** Names the region for screen readers: "Output of npm test". */
  readonly label: string;
  /** Still streaming: the view follows the end unless the person scrolled up. */
  readonly live: boolean;
}

export function OutputView({ model, label, live }: OutputViewProps) {
  const pre = useRef<HTMLPreElement>(null);
  const shown = useRef<{ node: Node; lines: number }[]>([]);
  const [filter, setFilter] = useState('');
  const [stats, setStats] = useState({ lines: model.lineCount, dropped: model.droppedLines });

  useEffect(() => {
    const element = pre.current;
    if (element === null) return undefined;
    let shownLines = 0;
    const add = (chunks: readonly LogChunk[]): void => {
      const atEnd = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
      const fragment = document.createDocumentFragment();
      for (const chunk of chunks) {
        const node = chunkNode(chunk);
        fragment.appendChild(node);
        shown.current.push({ node, lines: chunk.lines });
        shownLines += chunk.lines;
      }
      element.appendChild(fragment);
      while (shownLines > MAX_SHOWN_LINES && shown.current.length > 1) {
        const oldest = shown.current.shift();
        if (oldest === undefined) break;
        oldest.node.parentNode?.removeChild(oldest.node);
        shownLines -= oldest.lines;
      }
      if (atEnd) element.scrollTop = element.scrollHeight;
    };
    const redraw = (): void => {
      element.textContent = '';
      shown.current = [];
      shownLines = 0;
      if (filter === '') {
        add(model.all());
      } else {
        const matches = model.matching(filter, MAX_MATCHES);
        add(matches.map((match) => ({ stream: match.stream, text: `${match.line}\n`, lines: 1 })));
      }
      setStats({ lines: model.lineCount, dropped: model.droppedLines });
    };
    redraw();
    return model.subscribe(() => {
      if (filter === '') add(model.takePending());
      else redraw();
      setStats({ lines: model.lineCount, dropped: model.droppedLines });
    });
  }, [model, filter]);

  return (
    <div class="output">
      <div class="output__bar">
        <label class="output__find">
          <span>Find in output</span>
          <input
            type="search"
            value={filter}
            onInput={(event) => setFilter((event.target as HTMLInputElement).value)}
            placeholder="text"
          />
        </label>
        <span class="output__stats" aria-live="off">
          {stats.lines.toLocaleString()} lines{live ? ' · streaming' : ''}
          {stats.dropped > 0
            ? ` · ${stats.dropped.toLocaleString()} earlier lines dropped here (page the full output)`
            : ''}
        </span>
      </div>
      <pre class="output__text" ref={pre} tabIndex={0} aria-label={label} />
    </div>
  );
}
