/**
 * Connections through the egress proxy as they end, newest first, from the audit log (one
 * `egress.connection` event each): of every session or one, allowed or refused, growing live and paged
 * back. A plain-HTTP proxy request counts one each.
 */
import { useState } from 'preact/hooks';
import type { AuditEvent } from '../../../src/sdk/index.ts';
import { Badge } from '../components/badges.tsx';
import { bytes, clock, dateTime, duration, shortId } from '../format.ts';
import { href } from '../route.ts';
import { useAuditPages } from '../state/audit-pages.ts';

const PAGE = 100;
/** Connections kept on the page; older ones stay in the audit log. */
const MAX_SHOWN = 1000;

type Decision = 'all' | 'allowed' | 'refused';

function field(event: AuditEvent, key: string): string {
  const value = event.data[key];
  return typeof value === 'string' ? value : '';
}

function number(event: AuditEvent, key: string): number {
  const value = event.data[key];
  return typeof value === 'number' ? value : 0;
}

export function ConnectionList({ sessionId }: { readonly sessionId: string | null }) {
  const [decision, setDecision] = useState<Decision>('all');
  const { events, hasOlder, error, loadOlder } = useAuditPages(
    { types: ['egress.connection'], ...(sessionId === null ? {} : { sessionId }) },
    (event) => event.type === 'egress.connection' && (sessionId === null || event.sessionId === sessionId),
    { page: PAGE, maxShown: MAX_SHOWN },
  );

  const shown = events.filter((event) => decision === 'all' || field(event, 'decision') === decision);
  return (
    <>
      <form class="filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label class="field field--inline">
          <span class="field__label">Decision</span>
          <select
            value={decision}
            onChange={(event) => setDecision((event.target as HTMLSelectElement).value as Decision)}
          >
            <option value="all">All connections</option>
            <option value="allowed">Allowed</option>
            <option value="refused">Refused</option>
          </select>
        </label>
      </form>
      {error === null ? null : (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {shown.length === 0 ? (
        <p class="empty">No connections{decision === 'all' ? '' : ` ${decision}`} yet.</p>
      ) : (
        <table class="table table--stack connections-table">
          <caption class="visually-hidden">Connections through the egress proxy, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Host</th>
              <th scope="col">Session</th>
              <th scope="col">Decision</th>
              <th scope="col">How / why</th>
              <th scope="col">Sent / received</th>
              <th scope="col">Duration</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((event) => (
              <ConnectionRow key={event.seq} event={event} />
            ))}
          </tbody>
        </table>
      )}
      {hasOlder ? (
        <button type="button" class="button" onClick={() => void loadOlder()}>
          Load older connections
        </button>
      ) : null}
    </>
  );
}

function ConnectionRow({ event }: { readonly event: AuditEvent }) {
  const decision = field(event, 'decision');
  const error = field(event, 'error');
  const secrets = event.data['secrets'];
  return (
    <tr>
      <td data-label="Time">
        <time dateTime={event.at} title={dateTime(event.at)}>
          {clock(event.at)}
        </time>
      </td>
      <th scope="row" data-label="Host">
        <code>
          {field(event, 'host')}:{number(event, 'port')}
        </code>
        {field(event, 'message') === '' ? null : (
          <span class="egress-message">{field(event, 'message')}</span>
        )}
      </th>
      <td data-label="Session">
        {event.sessionId === null ? null : (
          <a href={href('egress', event.sessionId)} class="mono" title={event.sessionId}>
            {shortId(event.sessionId)}
          </a>
        )}
      </td>
      <td data-label="Decision">
        <Badge value={decision} />
      </td>
      <td data-label="How / why">
        {field(event, 'reason').replace(/_/g, ' ')}
        {error === '' ? '' : ` · ${error.replace(/_/g, ' ')}`}
        {Array.isArray(secrets) && secrets.length > 0 ? ` · secrets ${secrets.join(', ')}` : ''}
      </td>
      <td data-label="Sent / received">
        {bytes(number(event, 'bytesUp'))} / {bytes(number(event, 'bytesDown'))}
      </td>
      <td data-label="Duration">{duration(number(event, 'durationMs'))}</td>
    </tr>
  );
}
