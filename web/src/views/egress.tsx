/**
 * Egress: what each live session reaches through the proxy. Questions about hosts off a list waiting
 * for a person (the same approval requests as in the queue, decided here too); per session its mode,
 * list, connections and bytes, and the hosts a person granted (withdrawable); the hosts refused, each
 * grantable for the rest of its session; and the connections as they end (egress-connections.tsx).
 * Viewers see all of it; approvers and the admin also decide and grant.
 */
import { useState } from 'preact/hooks';
import type { ApprovalRecord, SessionEgress } from '../../../src/sdk/index.ts';
import { Badge } from '../components/badges.tsx';
import { useNow } from '../components/use-now.ts';
import { ago, bytes, countdown, shortId } from '../format.ts';
import { href } from '../route.ts';
import { useApp } from '../state/context.ts';
import { messageOf, useResource } from '../state/resource.ts';
import { ConnectionList } from './egress-connections.tsx';

const EGRESS_EVENTS = new Set(['egress.connection', 'egress.granted', 'egress.grant_revoked']);

/** `host:port` back into its parts; IPv6 hosts keep their colons (the port is after the last). */
export function splitTarget(target: string): { host: string; port: number } {
  const cut = target.lastIndexOf(':');
  const host = target.slice(0, cut);
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(target.slice(cut + 1)) };
}

export function EgressView({ id }: { readonly id: string | null }) {
  const { client } = useApp();
  const egress = useResource((signal) => client.egress.list({ signal }), [], {
    refreshOn: (event) => EGRESS_EVENTS.has(event.type) || event.type.startsWith('session.'),
    intervalMs: 5000,
  });
  const asks = useResource(
    async (signal) =>
      (await client.approvals.list({ status: 'pending', signal })).filter(
        (approval) => approval.action === 'egress',
      ),
    [],
    { refreshOn: (event) => event.type.startsWith('approval.'), intervalMs: 5000, debounceMs: 100 },
  );
  const sessions = (egress.data ?? []).filter((entry) => id === null || entry.sessionId === id);
  const refresh = (): void => {
    egress.reload();
    asks.reload();
  };
  const pending = (asks.data ?? []).filter((approval) => id === null || approval.sessionId === id);
  return (
    <section aria-labelledby="egress-title">
      {id === null ? null : (
        <p class="crumbs">
          <a href={href('egress')}>Egress</a> /
        </p>
      )}
      <div class="view-head">
        <h1 id="egress-title">{id === null ? 'Egress' : <span class="mono">{id}</span>}</h1>
      </div>
      {[egress.error, asks.error].map((error) =>
        error === null ? null : (
          <p class="error" role="alert" key={error}>
            {error}
          </p>
        ),
      )}
      <h2>Waiting for a person</h2>
      {asks.data !== undefined && pending.length === 0 ? (
        <p class="empty">No connection is waiting for an answer.</p>
      ) : (
        <ul class="asks">
          {pending.map((approval) => (
            <Ask key={approval.id} approval={approval} onDecided={refresh} />
          ))}
        </ul>
      )}
      <h2>Sessions</h2>
      {egress.data !== undefined && sessions.length === 0 ? (
        <p class="empty">
          No live session {id === null ? 'has' : 'here with'} a network. Sessions get one with{' '}
          <code>sandbox.network</code> or <code>network</code> when created.
        </p>
      ) : (
        <SessionTable sessions={sessions} onChanged={egress.reload} />
      )}
      <h2>Refused hosts</h2>
      <RefusedTable sessions={sessions} onChanged={egress.reload} />
      <h2>Connections</h2>
      <ConnectionList sessionId={id} />
    </section>
  );
}

function Ask({ approval, onDecided }: { readonly approval: ApprovalRecord; readonly onDecided: () => void }) {
  const { client, canDecide, notify } = useApp();
  const now = useNow(1000);
  const [busy, setBusy] = useState(false);
  const left = countdown(approval.expiresAt, now);
  const decide = async (how: 'once' | 'session' | 'deny'): Promise<void> => {
    setBusy(true);
    try {
      if (how === 'deny') await client.approvals.deny(approval.id, { reason: 'denied from the egress view' });
      else await client.approvals.approve(approval.id, how === 'session' ? { scope: 'host' } : {});
      notify(`${how === 'deny' ? 'Denied' : 'Allowed'} ${approval.subject}`);
      onDecided();
    } catch (error) {
      notify(`Could not decide: ${messageOf(error)}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <li class="ask">
      <div class="ask__what">
        <code class="subject">{approval.subject}</code>
        <span class="muted">
          {' '}
          from{' '}
          <a href={href('sessions', approval.sessionId)} class="mono">
            {shortId(approval.sessionId)}
          </a>
          {approval.parsed[0] === undefined ? null : (
            <>
              {' '}
              by <code class="truncate">{approval.parsed[0]}</code>
            </>
          )}
        </span>
        <span class={left === null ? 'muted' : 'countdown'}>
          {left === null ? ' expired' : ` ${left} left`}
        </span>
      </div>
      {canDecide ? (
        <div class="decision__buttons">
          <button
            type="button"
            class="button button--primary"
            disabled={busy}
            onClick={() => void decide('once')}
          >
            Allow once<span class="visually-hidden"> {approval.subject}</span>
          </button>
          <button type="button" class="button" disabled={busy} onClick={() => void decide('session')}>
            Allow for this session<span class="visually-hidden"> {approval.subject}</span>
          </button>
          <button
            type="button"
            class="button button--danger"
            disabled={busy}
            onClick={() => void decide('deny')}
          >
            Deny<span class="visually-hidden"> {approval.subject}</span>
          </button>
        </div>
      ) : (
        <a class="button" href={href('approvals', approval.id)}>
          View request
        </a>
      )}
    </li>
  );
}

function SessionTable(props: {
  readonly sessions: readonly SessionEgress[];
  readonly onChanged: () => void;
}) {
  if (props.sessions.length === 0) return null;
  return (
    <table class="table table--stack egress-table">
      <caption class="visually-hidden">Each live session's network and its connections so far</caption>
      <thead>
        <tr>
          <th scope="col">Session</th>
          <th scope="col">Mode</th>
          <th scope="col">Allow-list</th>
          <th scope="col">Open</th>
          <th scope="col">Allowed</th>
          <th scope="col">Refused</th>
          <th scope="col">Sent / received</th>
          <th scope="col">Last</th>
          <th scope="col">Granted by a person</th>
        </tr>
      </thead>
      <tbody>
        {props.sessions.map((entry) => (
          <tr key={entry.sessionId}>
            <th scope="row" data-label="Session">
              <a href={href('egress', entry.sessionId)} class="mono" title={entry.sessionId}>
                {shortId(entry.sessionId)}
              </a>
            </th>
            <td data-label="Mode">
              <Badge value={entry.mode} />
            </td>
            <td data-label="Allow-list" class="egress-hosts">
              {entry.allow.length === 0 ? <span class="muted">nothing</span> : entry.allow.join(', ')}
            </td>
            <td data-label="Open">{entry.openConnections}</td>
            <td data-label="Allowed">{entry.connections.allowed}</td>
            <td data-label="Refused">{entry.connections.refused}</td>
            <td data-label="Sent / received">
              {bytes(entry.bytesUp)} / {bytes(entry.bytesDown)}
            </td>
            <td data-label="Last">{entry.lastConnectionAt === null ? '–' : ago(entry.lastConnectionAt)}</td>
            <td data-label="Granted by a person">
              <Grants entry={entry} onChanged={props.onChanged} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Grants({ entry, onChanged }: { readonly entry: SessionEgress; readonly onChanged: () => void }) {
  const { client, canDecide, notify } = useApp();
  if (entry.granted.length === 0) return <span class="muted">none</span>;
  const withdraw = async (target: string): Promise<void> => {
    try {
      await client.egress.revokeGrant(entry.sessionId, splitTarget(target));
      notify(`Withdrew ${target} from ${entry.sessionId}`);
      onChanged();
    } catch (error) {
      notify(`Could not withdraw ${target}: ${messageOf(error)}`, 'error');
    }
  };
  return (
    <ul class="grant-list">
      {entry.granted.map((target) => (
        <li key={target}>
          <code>{target}</code>
          {canDecide ? (
            <button
              type="button"
              class="button button--small button--ghost"
              onClick={() => void withdraw(target)}
            >
              Withdraw<span class="visually-hidden"> {target}</span>
            </button>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

function RefusedTable(props: {
  readonly sessions: readonly SessionEgress[];
  readonly onChanged: () => void;
}) {
  const { client, canDecide, notify } = useApp();
  const rows = props.sessions.flatMap((entry) =>
    entry.refused.map((refused) => ({ ...refused, sessionId: entry.sessionId, entry })),
  );
  if (rows.length === 0) return <p class="empty">No host has been refused.</p>;
  const grant = async (sessionId: string, host: string, port: number): Promise<void> => {
    try {
      await client.egress.grant(sessionId, { host, port });
      notify(`Allowed ${host}:${port} for ${sessionId}`);
      props.onChanged();
    } catch (error) {
      notify(`Could not allow ${host}:${port}: ${messageOf(error)}`, 'error');
    }
  };
  return (
    <table class="table table--stack refused-table">
      <caption class="visually-hidden">Hosts the proxy refused, per session</caption>
      <thead>
        <tr>
          <th scope="col">Host</th>
          <th scope="col">Session</th>
          <th scope="col">Why</th>
          <th scope="col">Times</th>
          <th scope="col">What the command was told</th>
          <th scope="col">
            <span class="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => {
          // As the proxy keys its grants: IPv6 without brackets, the port after the last colon.
          const target = `${row.host}:${row.port}`;
          const granted = row.entry.granted.includes(target);
          return (
            <tr key={`${row.sessionId} ${target}`}>
              <th scope="row" data-label="Host">
                <code>{target}</code>
              </th>
              <td data-label="Session">
                <a href={href('egress', row.sessionId)} class="mono" title={row.sessionId}>
                  {shortId(row.sessionId)}
                </a>
              </td>
              <td data-label="Why">
                <Badge value={row.reason} />
              </td>
              <td data-label="Times">{row.count}</td>
              <td data-label="What the command was told" class="egress-message">
                {row.message}
              </td>
              <td data-label="">
                {!canDecide ? null : granted ? (
                  <span class="muted">granted</span>
                ) : (
                  <button
                    type="button"
                    class="button button--small"
                    onClick={() => void grant(row.sessionId, row.host, row.port)}
                  >
                    Allow for this session<span class="visually-hidden"> {target}</span>
                  </button>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
