/**
 * Sessions: every live sandbox with its limits and what it uses now, as small charts over the last
 * minutes; one session in detail with its commands; ending a session (approvers and the admin).
 */
import { useState } from 'preact/hooks';
import type { SessionInfo, SessionUsage } from '../../../src/sdk/index.ts';
import { Badge } from '../components/badges.tsx';
import { Sparkline } from '../components/sparkline.tsx';
import { age, ago, bytes, duration, percent, shortId } from '../format.ts';
import { href } from '../route.ts';
import { useApp } from '../state/context.ts';
import { messageOf, useResource } from '../state/resource.ts';
import { CommandList } from './command-list.tsx';

/** How often usage is re-read: the control plane samples every five seconds. */
const USAGE_REFRESH_MS = 5000;

function useUsage(sessionId?: string) {
  const { client } = useApp();
  return useResource(
    async (signal) => {
      const list = await client.usage({ signal, ...(sessionId === undefined ? {} : { sessionId }) });
      return new Map(list.map((entry) => [entry.sessionId, entry]));
    },
    [sessionId],
    { intervalMs: USAGE_REFRESH_MS },
  );
}

function Charts({
  session,
  usage,
  width,
}: {
  readonly session: SessionInfo;
  readonly usage: SessionUsage | undefined;
  readonly width?: number;
}) {
  const samples = usage?.samples ?? [];
  const last = samples.at(-1);
  const { limits } = session;
  const size = width === undefined ? {} : { width, height: Math.round(width / 4) };
  return (
    <>
      <td data-label="Memory" class="chart-cell">
        <Sparkline
          {...size}
          values={samples.map((sample) => sample.memoryBytes)}
          max={limits.memoryBytes}
          label={`memory ${last === undefined ? 'not sampled yet' : bytes(last.memoryBytes)} of ${bytes(limits.memoryBytes)}`}
        />
        <span class="chart-cell__value">{last === undefined ? '–' : bytes(last.memoryBytes)}</span>
      </td>
      <td data-label="CPU" class="chart-cell">
        <Sparkline
          {...size}
          values={samples.map((sample) => sample.cpuFraction)}
          max={1}
          label={`CPU ${percent(last?.cpuFraction ?? null)} of ${limits.cpus} cores`}
        />
        <span class="chart-cell__value">{percent(last?.cpuFraction ?? null)}</span>
      </td>
      <td data-label="Processes" class="chart-cell">
        <Sparkline
          {...size}
          values={samples.map((sample) => sample.pids)}
          max={limits.pids}
          label={`processes ${last?.pids ?? 'not sampled yet'} of ${limits.pids}`}
        />
        <span class="chart-cell__value">{last === undefined ? '–' : `${last.pids}/${limits.pids}`}</span>
      </td>
    </>
  );
}

function EndButton({ session, onEnded }: { readonly session: SessionInfo; readonly onEnded?: () => void }) {
  const { client, canDecide, notify } = useApp();
  const [busy, setBusy] = useState(false);
  if (!canDecide || session.state !== 'active') return null;
  const end = async (): Promise<void> => {
    if (
      !window.confirm(`End session ${session.id}? Its running commands are killed and its sandbox destroyed.`)
    )
      return;
    setBusy(true);
    try {
      await client.sessions.destroy(session.id);
      notify(`Ended ${session.id}`);
      onEnded?.();
    } catch (error) {
      notify(`Could not end ${session.id}: ${messageOf(error)}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <button type="button" class="button button--danger" disabled={busy} onClick={() => void end()}>
      End<span class="visually-hidden"> session {session.id}</span>
    </button>
  );
}

export function SessionsView({ id }: { readonly id: string | null }) {
  return id === null ? <SessionList /> : <SessionDetail id={id} />;
}

function SessionList() {
  const { client } = useApp();
  const [showEnded, setShowEnded] = useState(false);
  const sessions = useResource(
    (signal) =>
      client.sessions.list({ signal, limit: 500, ...(showEnded ? {} : { state: 'active' as const }) }),
    [showEnded],
    {
      refreshOn: (event) => event.type.startsWith('session.') || event.type === 'execution.finished',
      intervalMs: 15_000,
    },
  );
  const usage = useUsage();
  const list = [...(sessions.data ?? [])].reverse();
  return (
    <section aria-labelledby="sessions-title">
      <div class="view-head">
        <h1 id="sessions-title">Sessions</h1>
        <label class="check">
          <input type="checkbox" checked={showEnded} onChange={() => setShowEnded(!showEnded)} /> Show ended
          sessions
        </label>
      </div>
      {sessions.error === null ? null : (
        <p class="error" role="alert">
          {sessions.error}
        </p>
      )}
      {sessions.data !== undefined && list.length === 0 ? (
        <p class="empty">
          No {showEnded ? '' : 'live '}sessions. Agents make one with POST /v1/sessions or over MCP.
        </p>
      ) : null}
      {list.length === 0 ? null : (
        <table class="table sessions-table">
          <caption class="visually-hidden">
            {list.length} sessions, newest first; usage over the last minutes
          </caption>
          <thead>
            <tr>
              <th scope="col">Session</th>
              <th scope="col">State</th>
              <th scope="col">Driver</th>
              <th scope="col">Policy</th>
              <th scope="col">Age</th>
              <th scope="col">Memory</th>
              <th scope="col">CPU</th>
              <th scope="col">Processes</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((session) => (
              <tr key={session.id}>
                <th scope="row" data-label="Session">
                  <a href={href('sessions', session.id)} title={session.id} class="mono">
                    {shortId(session.id)}
                  </a>
                </th>
                <td data-label="State">
                  <Badge value={session.state} />
                </td>
                <td data-label="Driver">{session.driver}</td>
                <td data-label="Policy" class="truncate" title={session.policy}>
                  {session.policy}
                </td>
                <td data-label="Age" title={session.createdAt}>
                  {age(session.createdAt)}
                </td>
                <Charts session={session} usage={usage.data?.get(session.id)} />
                <td data-label="">
                  <EndButton session={session} onEnded={sessions.reload} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function SessionDetail({ id }: { readonly id: string }) {
  const { client } = useApp();
  const session = useResource((signal) => client.sessions.get(id, { signal }), [id], {
    refreshOn: (event) => event.sessionId === id && event.type.startsWith('session.'),
    intervalMs: 15_000,
  });
  const usage = useUsage(id);
  const info = session.data;
  return (
    <section aria-labelledby="session-title">
      <p class="crumbs">
        <a href={href('sessions')}>Sessions</a> /
      </p>
      <div class="view-head">
        <h1 id="session-title" class="mono">
          {id}
        </h1>
        {info === undefined ? null : <EndButton session={info} onEnded={session.reload} />}
      </div>
      {session.error === null ? null : (
        <p class="error" role="alert">
          {session.error}
        </p>
      )}
      {info === undefined ? null : (
        <>
          <dl class="facts">
            <div>
              <dt>State</dt>
              <dd>
                <Badge value={info.state} />
                {info.endReason === null ? '' : ` (${info.endReason})`}
              </dd>
            </div>
            <div>
              <dt>Driver</dt>
              <dd>{info.isolation?.isolation ?? info.driver}</dd>
            </div>
            <div>
              <dt>Policy</dt>
              <dd>{info.policy}</dd>
            </div>
            <div>
              <dt>Created</dt>
              <dd title={info.createdAt}>{ago(info.createdAt)}</dd>
            </div>
            <div>
              <dt>Last active</dt>
              <dd title={info.lastActiveAt}>{ago(info.lastActiveAt)}</dd>
            </div>
            <div>
              <dt>Limits</dt>
              <dd>
                {bytes(info.limits.memoryBytes)} · {info.limits.cpus} CPU · {info.limits.pids} processes ·{' '}
                {bytes(info.limits.scratchBytes)} scratch
              </dd>
            </div>
            <div>
              <dt>Network</dt>
              <dd>
                {info.network.mode === 'none' ? (
                  'none'
                ) : (
                  <>
                    {info.network.mode} ·{' '}
                    <a href={href('egress', id)}>connections, refused hosts and grants</a>
                  </>
                )}
              </dd>
            </div>
            <div>
              <dt>Timeouts</dt>
              <dd>
                {duration(info.limits.timeoutMs)} per command · idle {duration(info.limits.idleTimeoutMs)}
              </dd>
            </div>
          </dl>
          <table class="table usage-table">
            <caption>Usage over the last minutes (the line at the top is the limit)</caption>
            <thead>
              <tr>
                <th scope="col">Memory</th>
                <th scope="col">CPU</th>
                <th scope="col">Processes</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <Charts session={info} usage={usage.data?.get(id)} width={280} />
              </tr>
            </tbody>
          </table>
        </>
      )}
      <h2>Commands</h2>
      <CommandList sessionId={id} />
    </section>
  );
}
