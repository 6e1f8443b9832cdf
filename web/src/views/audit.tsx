/**
 * The audit log: whether its chain verifies, said plainly; the events newest first, filtered by kind,
 * session or command, growing live and paged back; and an export of what the filters select.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AuditEvent } from '../../../src/sdk/index.ts';
import { clock, dateTime, shortId } from '../format.ts';
import { typingInField } from '../keys.ts';
import { href } from '../route.ts';
import { useAuditPages } from '../state/audit-pages.ts';
import { VerifyPanel } from './audit-verify.tsx';

const PAGE = 100;
/** Events kept on the page: the live end grows, the oldest go (they stay in the log and the export). */
const MAX_SHOWN = 2000;

const KINDS: readonly { readonly label: string; readonly types?: readonly string[] }[] = [
  { label: 'Everything' },
  {
    label: 'Commands',
    types: [
      'command.proposed',
      'command.decided',
      'execution.started',
      'execution.finished',
      'execution.interrupted',
      'output.stored',
      'rate.limited',
    ],
  },
  { label: 'Approvals', types: ['approval.requested', 'approval.decided'] },
  {
    label: 'Sessions',
    types: [
      'session.created',
      'session.destroyed',
      'snapshot.created',
      'recovery.completed',
      'resource.alert',
    ],
  },
  { label: 'Files', types: ['file.written', 'file.read', 'file.listed'] },
  {
    label: 'Egress',
    types: ['egress.connection', 'egress.granted', 'egress.grant_revoked', 'session.network_changed'],
  },
  { label: 'Agent runs', types: ['agent.started', 'agent.model_call', 'agent.step', 'agent.finished'] },
  { label: 'Tokens and sign-ins', types: ['token.created', 'token.revoked', 'dashboard.signed_in'] },
];

interface Filters {
  readonly kind: number;
  readonly sessionId: string;
  readonly commandId: string;
}

function matches(event: AuditEvent, filters: Filters): boolean {
  const types = KINDS[filters.kind]?.types;
  return (
    (types === undefined || types.includes(event.type)) &&
    (filters.sessionId === '' || event.sessionId === filters.sessionId) &&
    (filters.commandId === '' || event.commandId === filters.commandId)
  );
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The one line a person reads for an event; the full data is one click away. */
export function summarize(event: AuditEvent): string {
  const data = event.data;
  switch (event.type) {
    case 'command.proposed':
      return text(data['command']);
    case 'command.decided':
      return `${text(data['decision'])}${Array.isArray(data['ruleIds']) && data['ruleIds'].length > 0 ? ` by ${data['ruleIds'].join(', ')}` : ''}`;
    case 'approval.requested':
      return text(data['subject']);
    case 'approval.decided':
      return `${text(data['status'] ?? data['decision'])}${data['decidedBy'] === undefined ? '' : ` by ${text(data['decidedBy'])}`}`;
    case 'file.written':
    case 'file.read':
      return `${text(data['path'])}${typeof data['bytes'] === 'number' ? ` (${data['bytes']} bytes)` : ''}`;
    case 'egress.connection':
      return `${text(data['decision'])} ${text(data['host'])}:${text(data['port'])} (${text(data['reason'])})`;
    case 'egress.granted':
    case 'egress.grant_revoked':
      return `${text(data['host'])}:${text(data['port'])} by ${text(data['decidedBy'])}`;
    case 'agent.started':
      return `${text(data['provider'])}:${text(data['model'])}`;
    case 'agent.model_call':
      return `step ${text(data['step'])}: ${text(data['tokensIn'])} in, ${text(data['tokensOut'])} out, ${text(data['latencyMs'])} ms`;
    case 'agent.finished':
      return `${text(data['status'])}${data['steps'] === undefined ? '' : `, ${text(data['steps'])} steps`}`;
    case 'execution.finished':
      return `${text(data['status'])}${data['exitCode'] === undefined || data['exitCode'] === null ? '' : `, exit ${text(data['exitCode'])}`}`;
    default: {
      const json = JSON.stringify(data);
      return json.length > 160 ? `${json.slice(0, 160)}…` : json;
    }
  }
}

export function AuditView(_props: { readonly id: string | null }) {
  const [filters, setFilters] = useState<Filters>({ kind: 0, sessionId: '', commandId: '' });
  const sessionBox = useRef<HTMLInputElement>(null);

  const { events, hasOlder, error, loadOlder } = useAuditPages(
    {
      ...(KINDS[filters.kind]?.types === undefined ? {} : { types: KINDS[filters.kind]?.types ?? [] }),
      ...(filters.sessionId === '' ? {} : { sessionId: filters.sessionId }),
      ...(filters.commandId === '' ? {} : { commandId: filters.commandId }),
    },
    (event) => matches(event, filters),
    { page: PAGE, maxShown: MAX_SHOWN },
  );

  useEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === '/' && !typingInField(event)) {
        event.preventDefault();
        sessionBox.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const exportParams = new URLSearchParams();
  const types = KINDS[filters.kind]?.types;
  if (types !== undefined) exportParams.set('type', types.join(','));
  if (filters.sessionId !== '') exportParams.set('sessionId', filters.sessionId);
  const exportQuery = exportParams.toString();

  return (
    <section aria-labelledby="audit-title">
      <div class="view-head">
        <h1 id="audit-title">Audit log</h1>
        <a
          class="button"
          href={`/v1/audit/export${exportQuery === '' ? '' : `?${exportQuery}`}`}
          download="airlock-audit.jsonl"
        >
          Export (JSON lines)
        </a>
      </div>
      <VerifyPanel />
      <form class="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label class="field field--inline">
          <span class="field__label">Kind</span>
          <select
            value={String(filters.kind)}
            onChange={(event) =>
              setFilters({ ...filters, kind: Number((event.target as HTMLSelectElement).value) })
            }
          >
            {KINDS.map((kind, index) => (
              <option key={kind.label} value={String(index)}>
                {kind.label}
              </option>
            ))}
          </select>
        </label>
        <label class="field field--inline">
          <span class="field__label">Session</span>
          <input
            ref={sessionBox}
            value={filters.sessionId}
            placeholder="ses_…"
            onChange={(event) =>
              setFilters({ ...filters, sessionId: (event.target as HTMLInputElement).value.trim() })
            }
          />
        </label>
        <label class="field field--inline">
          <span class="field__label">Command</span>
          <input
            value={filters.commandId}
            placeholder="cmd_…"
            onChange={(event) =>
              setFilters({ ...filters, commandId: (event.target as HTMLInputElement).value.trim() })
            }
          />
        </label>
      </form>
      {error === null ? null : (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <ol class="events" aria-label="Audit events, newest first">
        {events.map((event) => (
          <EventRow key={event.seq} event={event} />
        ))}
      </ol>
      {hasOlder ? (
        <button type="button" class="button" onClick={() => void loadOlder()}>
          Load older events
        </button>
      ) : null}
    </section>
  );
}

function EventRow({ event }: { readonly event: AuditEvent }) {
  return (
    <li class="event">
      <details>
        <summary>
          <span class="event__seq mono">#{event.seq}</span>
          <time dateTime={event.at} title={dateTime(event.at)}>
            {clock(event.at)}
          </time>
          <span class="event__type">{event.type}</span>
          {event.sessionId === null ? null : <span class="mono muted">{shortId(event.sessionId)}</span>}
          <span class="event__summary">{summarize(event)}</span>
        </summary>
        <dl class="event__facts">
          {event.sessionId === null ? null : (
            <div>
              <dt>Session</dt>
              <dd>
                <a href={href('sessions', event.sessionId)} class="mono">
                  {event.sessionId}
                </a>
              </dd>
            </div>
          )}
          {event.commandId === null ? null : (
            <div>
              <dt>Command</dt>
              <dd class="mono">{event.commandId}</dd>
            </div>
          )}
          <div>
            <dt>Hash</dt>
            <dd class="mono">{event.hash}</dd>
          </div>
          <div>
            <dt>Previous</dt>
            <dd class="mono">{event.prevHash === '' ? '(first event)' : event.prevHash}</dd>
          </div>
        </dl>
        <pre class="event__data">{JSON.stringify(event.data, null, 2)}</pre>
      </details>
    </li>
  );
}
