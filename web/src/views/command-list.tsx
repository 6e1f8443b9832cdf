/**
 * Commands as they happen, newest first: of every session or one, searchable, filtered by state, paged
 * back with "Load older". A running command opens its live output; any other shows its stored output.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { CommandRecord, CommandState } from '../../../src/sdk/index.ts';
import { Badge, Outcome } from '../components/badges.tsx';
import { CommandOutput } from '../components/command-output.tsx';
import { clock, duration, shortId } from '../format.ts';
import { typingInField } from '../keys.ts';
import { href } from '../route.ts';
import { useApp } from '../state/context.ts';
import { messageOf, useResource } from '../state/resource.ts';

const PAGE = 50;

const FILTERS: readonly { readonly label: string; readonly states?: readonly CommandState[] }[] = [
  { label: 'All' },
  { label: 'Running', states: ['running'] },
  { label: 'Waiting for approval', states: ['pending_approval'] },
  { label: 'Refused', states: ['denied', 'rate_limited'] },
  { label: 'Failed', states: ['failed', 'timed_out', 'killed', 'interrupted'] },
  { label: 'Completed', states: ['completed'] },
];

const COMMAND_EVENTS = new Set([
  'command.proposed',
  'command.decided',
  'execution.started',
  'execution.finished',
  'approval.decided',
  'rate.limited',
]);

export function CommandList({ sessionId }: { readonly sessionId?: string }) {
  const { client } = useApp();
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [filter, setFilter] = useState(0);
  const [older, setOlder] = useState<{ commands: CommandRecord[]; next: string | null } | null>(null);
  const searchBox = useRef<HTMLInputElement>(null);
  const states = FILTERS[filter]?.states;

  useEffect(() => {
    const timer = setTimeout(() => setQuery(search.trim()), 300);
    return () => clearTimeout(timer);
  }, [search]);
  useEffect(() => setOlder(null), [query, filter, sessionId]);
  useEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === '/' && !typingInField(event)) {
        event.preventDefault();
        searchBox.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const first = useResource(
    (signal) =>
      client.commands.list({
        signal,
        limit: PAGE,
        ...(sessionId === undefined ? {} : { sessionId }),
        ...(states === undefined ? {} : { states }),
        ...(query === '' ? {} : { search: query }),
      }),
    [sessionId, query, filter],
    {
      refreshOn: (event) =>
        COMMAND_EVENTS.has(event.type) && (sessionId === undefined || event.sessionId === sessionId),
      debounceMs: 300,
    },
  );

  const loadOlder = async (): Promise<void> => {
    const before = older?.next ?? first.data?.next ?? null;
    if (before === null) return;
    const page = await client.commands.list({
      before,
      limit: PAGE,
      ...(sessionId === undefined ? {} : { sessionId }),
      ...(states === undefined ? {} : { states }),
      ...(query === '' ? {} : { search: query }),
    });
    setOlder({ commands: [...(older?.commands ?? []), ...page.commands], next: page.next });
  };

  const commands = [...(first.data?.commands ?? []), ...(older?.commands ?? [])];
  const next = older === null ? (first.data?.next ?? null) : older.next;
  return (
    <div class="commands">
      <div class="filters" role="search">
        <label class="field field--inline">
          <span class="field__label">Search commands</span>
          <input
            ref={searchBox}
            type="search"
            value={search}
            placeholder="e.g. npm test"
            onInput={(event) => setSearch((event.target as HTMLInputElement).value)}
          />
        </label>
        <label class="field field--inline">
          <span class="field__label">Show</span>
          <select
            value={String(filter)}
            onChange={(event) => setFilter(Number((event.target as HTMLSelectElement).value))}
          >
            {FILTERS.map((option, index) => (
              <option key={option.label} value={String(index)}>
                {option.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {first.error === null ? null : (
        <p class="error" role="alert">
          {first.error}
        </p>
      )}
      {first.data !== undefined && commands.length === 0 ? (
        <p class="empty">No commands{query === '' ? '' : ` matching “${query}”`}.</p>
      ) : null}
      <ol class="command-list" aria-label="Commands, newest first">
        {commands.map((command) => (
          <CommandItem key={command.id} command={command} showSession={sessionId === undefined} />
        ))}
      </ol>
      {next === null ? null : (
        <button type="button" class="button" onClick={() => void loadOlder()}>
          Load older commands
        </button>
      )}
    </div>
  );
}

function CommandItem({
  command,
  showSession,
}: {
  readonly command: CommandRecord;
  readonly showSession: boolean;
}) {
  const { client, canDecide, notify } = useApp();
  const running = command.state === 'running';
  const [open, setOpen] = useState<boolean | null>(null);
  const expanded = open ?? running;
  const detailId = `command-${command.id}`;
  const kill = async (): Promise<void> => {
    try {
      await client.commands.connect(command.sessionId, command.id).kill();
      notify(`Killed ${command.id}`);
    } catch (error) {
      notify(`Could not kill ${command.id}: ${messageOf(error)}`, 'error');
    }
  };
  return (
    <li class={`command${expanded ? ' command--open' : ''}`} data-state={command.state}>
      <div class="command__row">
        <button
          type="button"
          class="command__toggle"
          aria-expanded={expanded}
          aria-controls={detailId}
          onClick={() => setOpen(!expanded)}
        >
          <span class="visually-hidden">{expanded ? 'Hide' : 'Show'} output of </span>
          <code class="command__text">{command.command}</code>
        </button>
        <span class="command__meta">
          <time dateTime={command.createdAt}>{clock(command.createdAt)}</time>
          {showSession ? (
            <a href={href('sessions', command.sessionId)} class="mono" title={command.sessionId}>
              {shortId(command.sessionId)}
            </a>
          ) : null}
          {command.decision === null ? null : <Badge value={command.decision} />}
          <Outcome state={command.state} exitCode={command.exitCode} />
          <span class="muted">{duration(command.durationMs)}</span>
        </span>
      </div>
      {expanded ? (
        <div class="command__detail" id={detailId}>
          {command.reasons.length === 0 ? null : (
            <ul class="reasons">
              {command.reasons.map((reason) => (
                <li key={reason}>{reason}</li>
              ))}
            </ul>
          )}
          <p class="command__facts muted">
            <span class="mono">{command.id}</span>
            {command.approvalId === null ? null : (
              <>
                {' · '}
                <a href={href('approvals', command.approvalId)}>approval {shortId(command.approvalId)}</a>
              </>
            )}
            {command.signal === null ? null : ` · signal ${command.signal}`}
            {running && !command.background
              ? ' · runs in the foreground: its output arrives when it ends'
              : ''}
            {running && canDecide ? (
              <button type="button" class="button button--danger button--small" onClick={() => void kill()}>
                Kill
              </button>
            ) : null}
          </p>
          {command.state === 'pending_approval' || command.state === 'proposed' ? null : (
            <CommandOutput
              sessionId={command.sessionId}
              commandId={command.id}
              running={running}
              label={`Output of ${command.command.slice(0, 80)}`}
            />
          )}
        </div>
      ) : null}
    </li>
  );
}
