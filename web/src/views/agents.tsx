/**
 * Agent runs (`airlock agent run`, `airlock.agents.run`): the runs newest first, and one run as a
 * single thread — the model's calls, its steps and tool calls, each command with its decision,
 * approval and result, egress — in order, growing live while the run goes on.
 */
import { useEffect, useState } from 'preact/hooks';
import type { AuditEvent } from '../../../src/sdk/index.ts';
import { Badge } from '../components/badges.tsx';
import { ago, duration, shortId } from '../format.ts';
import { href } from '../route.ts';
import { useApp } from '../state/context.ts';
import { messageOf, useResource } from '../state/resource.ts';
import { runsOf, threadOf } from '../../../src/sdk/index.ts';
import type { RunHead } from '../../../src/sdk/index.ts';
import { ThreadEntry } from './agent-thread.tsx';

/** Run starts and ends looked at: the newest this many. */
const RUN_EVENTS = 1000;
/** Events of one session read per page, and at most this many pages for one thread. */
const PAGE = 1000;
const MAX_PAGES = 10;

function useRuns() {
  const { client } = useApp();
  return useResource(
    async (signal) =>
      runsOf(
        await client.audit.list({
          types: ['agent.started', 'agent.finished'],
          beforeSeq: Number.MAX_SAFE_INTEGER,
          limit: RUN_EVENTS,
          signal,
        }),
      ),
    [],
    {
      refreshOn: (event) => event.type === 'agent.started' || event.type === 'agent.finished',
      intervalMs: 15_000,
    },
  );
}

function number(event: AuditEvent | null, key: string): number | null {
  const value = event?.data[key];
  return typeof value === 'number' ? value : null;
}

function text(event: AuditEvent | null, key: string): string {
  const value = event?.data[key];
  return typeof value === 'string' ? value : '';
}

export function AgentsView({ id }: { readonly id: string | null }) {
  const runs = useRuns();
  if (id !== null) {
    const run = runs.data?.find((candidate) => candidate.runId === id);
    return (
      <section aria-labelledby="run-title">
        <p class="crumbs">
          <a href={href('agents')}>Agent runs</a> /
        </p>
        <div class="view-head">
          <h1 id="run-title" class="mono">
            {id}
          </h1>
          {run === undefined ? null : <RunStatus run={run} />}
        </div>
        {runs.error === null ? null : (
          <p class="error" role="alert">
            {runs.error}
          </p>
        )}
        {runs.data !== undefined && run === undefined ? (
          <p class="empty">No run {id} among the newest runs in the audit log.</p>
        ) : null}
        {run === undefined ? null : <Thread run={run} />}
      </section>
    );
  }
  const list = runs.data ?? [];
  return (
    <section aria-labelledby="agents-title">
      <div class="view-head">
        <h1 id="agents-title">Agent runs</h1>
      </div>
      {runs.error === null ? null : (
        <p class="error" role="alert">
          {runs.error}
        </p>
      )}
      {runs.data !== undefined && list.length === 0 ? (
        <p class="empty">
          No agent runs yet. <code>airlock agent run "…"</code> gives a task to a model through this control
          plane.
        </p>
      ) : null}
      {list.length === 0 ? null : (
        <table class="table table--stack runs-table">
          <caption class="visually-hidden">Agent runs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Model</th>
              <th scope="col">Session</th>
              <th scope="col">Started</th>
              <th scope="col">Status</th>
              <th scope="col">Steps</th>
              <th scope="col">Tokens in / out</th>
              <th scope="col">Took</th>
            </tr>
          </thead>
          <tbody>
            {list.map((run) => (
              <tr key={run.runId}>
                <th scope="row" data-label="Run">
                  <a href={href('agents', run.runId)} class="mono" title={run.runId}>
                    {shortId(run.runId)}
                  </a>
                </th>
                <td data-label="Model">
                  {text(run.started, 'provider')}:{text(run.started, 'model')}
                </td>
                <td data-label="Session">
                  <a href={href('sessions', run.sessionId)} class="mono" title={run.sessionId}>
                    {shortId(run.sessionId)}
                  </a>
                </td>
                <td data-label="Started" title={run.started.at}>
                  {ago(run.started.at)}
                </td>
                <td data-label="Status">
                  <RunStatus run={run} />
                </td>
                <td data-label="Steps">{number(run.finished, 'steps') ?? '–'}</td>
                <td data-label="Tokens in / out">
                  {run.finished === null
                    ? '–'
                    : `${number(run.finished, 'tokensIn') ?? '?'} / ${number(run.finished, 'tokensOut') ?? '?'}`}
                </td>
                <td data-label="Took">{duration(number(run.finished, 'durationMs'))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function RunStatus({ run }: { readonly run: RunHead }) {
  return <Badge value={run.finished === null ? 'running' : text(run.finished, 'status') || 'finished'} />;
}

/** The session's events from the run's start, then each new one as the live feed brings it. */
function Thread({ run }: { readonly run: RunHead }) {
  const { client, live } = useApp();
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    const controller = new AbortController();
    const arrived: AuditEvent[] = [];
    let loading = true;
    setEvents([]);
    setLoaded(false);
    setError(null);
    const unsubscribe = live.subscribe((event) => {
      if (event.sessionId !== run.sessionId || event.seq < run.started.seq) return;
      if (loading) arrived.push(event);
      else
        setEvents((current) =>
          current.some((shown) => shown.seq >= event.seq) ? current : [...current, event],
        );
    });
    void (async () => {
      const all: AuditEvent[] = [];
      let afterSeq = run.started.seq - 1;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const next = await client.audit.list({
          sessionId: run.sessionId,
          afterSeq,
          limit: PAGE,
          signal: controller.signal,
        });
        all.push(...next);
        const last = next.at(-1);
        if (next.length < PAGE || last === undefined) break;
        if (next.some((event) => event.type === 'agent.finished' && event.data['runId'] === run.runId)) break;
        afterSeq = last.seq;
      }
      const lastSeq = all.at(-1)?.seq ?? 0;
      loading = false;
      setEvents([...all, ...arrived.filter((event) => event.seq > lastSeq)]);
      setLoaded(true);
    })().catch((failure: unknown) => {
      if (!controller.signal.aborted) setError(messageOf(failure));
    });
    return () => {
      controller.abort();
      unsubscribe();
    };
  }, [client, live, run.runId, run.sessionId, run.started.seq]);

  const items = threadOf(run.runId, events);
  return (
    <>
      {error === null ? null : (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!loaded && error === null ? <p class="loading">Loading the run…</p> : null}
      <ol class="thread" aria-label={`Run ${run.runId}, in order`}>
        {items.map((item) => (
          <ThreadEntry key={item.kind === 'command' ? item.commandId : item.event.seq} item={item} />
        ))}
      </ol>
    </>
  );
}
