/**
 * One entry of an agent run's thread: a model call, a step with its tool calls, a command with its
 * decision, approval and result (its output a click away), a connection, or the run's start and end.
 */
import { useState } from 'preact/hooks';
import type { AuditEvent, CommandState } from '../../../src/sdk/index.ts';
import { Badge, Outcome } from '../components/badges.tsx';
import { CommandOutput } from '../components/command-output.tsx';
import { bytes, clock, dateTime, duration, shortId } from '../format.ts';
import { href } from '../route.ts';
import { commandFacts } from '../../../src/sdk/index.ts';
import type { ThreadItem } from '../../../src/sdk/index.ts';
import { summarize } from './audit.tsx';

function text(value: unknown): string {
  return typeof value === 'string'
    ? value
    : value === null || value === undefined
      ? ''
      : JSON.stringify(value);
}

function objectOf(value: unknown): Readonly<Record<string, unknown>> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function Time({ event }: { readonly event: AuditEvent }) {
  return (
    <time class="thread__time" dateTime={event.at} title={dateTime(event.at)}>
      {clock(event.at)}
    </time>
  );
}

export function ThreadEntry({ item }: { readonly item: ThreadItem }) {
  if (item.kind === 'command') return <CommandEntry events={item.events} commandId={item.commandId} />;
  const { event } = item;
  if (item.kind === 'other') {
    return (
      <li class="thread__item thread__item--other">
        <Time event={event} />
        <span class="thread__label">{event.type === 'egress.connection' ? 'Network' : event.type}</span>
        <span class="thread__body">
          {event.type === 'egress.connection' ? <Connection event={event} /> : summarize(event)}
        </span>
      </li>
    );
  }
  const data = event.data;
  switch (event.type) {
    case 'agent.started':
      return (
        <li class="thread__item thread__item--run">
          <Time event={event} />
          <span class="thread__label">Run started</span>
          <span class="thread__body">
            <strong>
              {text(data['provider'])}:{text(data['model'])}
            </strong>
            {data['endpoint'] === undefined ? null : <span class="muted"> at {text(data['endpoint'])}</span>}
            <span class="thread__task">
              {typeof data['task'] === 'string'
                ? data['task']
                : `Task of ${text(data['taskChars'])} characters (the text is recorded only with --record-prompts)`}
            </span>
          </span>
        </li>
      );
    case 'agent.model_call': {
      const error = objectOf(data['error']);
      return (
        <li class="thread__item thread__item--model">
          <Time event={event} />
          <span class="thread__label">Model · step {text(data['step'])}</span>
          <span class="thread__body">
            {error !== null ? (
              <span class="error-text">
                failed{error['status'] === null ? '' : ` (${text(error['status'])})`}:{' '}
                {text(error['message'])}
                {Number(data['attempt']) > 1 ? ` · attempt ${text(data['attempt'])}` : ''}
              </span>
            ) : (
              <>
                {text(data['tokensIn']) || '?'} tokens in, {text(data['tokensOut']) || '?'} out ·{' '}
                {duration(typeof data['latencyMs'] === 'number' ? data['latencyMs'] : null)}
                {data['stopReason'] === null ? '' : ` · ${text(data['stopReason'])}`}
                {Number(data['attempt']) > 1 ? ` · attempt ${text(data['attempt'])}` : ''}
              </>
            )}
          </span>
        </li>
      );
    }
    case 'agent.step': {
      const calls = Array.isArray(data['calls']) ? data['calls'] : [];
      return (
        <li class="thread__item thread__item--step">
          <Time event={event} />
          <span class="thread__label">Tools · step {text(data['step'])}</span>
          <span class="thread__body">
            {calls.length === 0 ? (
              <span class="muted">no tool called</span>
            ) : (
              <ul class="thread__calls">
                {calls.map((call, index) => {
                  const fields =
                    typeof call === 'object' && call !== null && !Array.isArray(call) ? call : {};
                  return (
                    <li key={index}>
                      <code>{text(fields['name'])}</code>{' '}
                      {fields['status'] === null || fields['status'] === undefined ? null : (
                        <Badge value={text(fields['status'])} />
                      )}
                      {fields['isError'] === true ? <span class="error-text"> error</span> : null}
                      {typeof fields['commandId'] === 'string' ? (
                        <span class="mono muted"> {shortId(fields['commandId'])}</span>
                      ) : null}
                    </li>
                  );
                })}
              </ul>
            )}
          </span>
        </li>
      );
    }
    case 'agent.finished':
      return (
        <li class="thread__item thread__item--run">
          <Time event={event} />
          <span class="thread__label">Run ended</span>
          <span class="thread__body">
            <Badge value={text(data['status'])} />{' '}
            {data['steps'] === undefined
              ? text(data['reason'])
              : `${text(data['steps'])} steps · ${text(data['commands'])} commands · ${text(data['denied'])} denied · ${text(data['asks'])} asks · ${text(data['tokensIn'])} / ${text(data['tokensOut'])} tokens · ${duration(typeof data['durationMs'] === 'number' ? data['durationMs'] : null)}`}
            {objectOf(data['error']) === null ? null : (
              <span class="error-text"> · {text(objectOf(data['error'])?.['message'])}</span>
            )}
          </span>
        </li>
      );
    default:
      return (
        <li class="thread__item">
          <Time event={event} />
          <span class="thread__label">{event.type}</span>
          <span class="thread__body">{summarize(event)}</span>
        </li>
      );
  }
}

function Connection({ event }: { readonly event: AuditEvent }) {
  const data = event.data;
  return (
    <>
      <Badge value={text(data['decision'])} />{' '}
      <code>
        {text(data['host'])}:{text(data['port'])}
      </code>{' '}
      <span class="muted">
        {text(data['reason']).replace(/_/g, ' ')} · {bytes(Number(data['bytesUp']) || 0)} up,{' '}
        {bytes(Number(data['bytesDown']) || 0)} down
      </span>
    </>
  );
}

function CommandEntry({
  events,
  commandId,
}: {
  readonly events: readonly AuditEvent[];
  readonly commandId: string;
}) {
  const [open, setOpen] = useState(false);
  const first = events[0];
  if (first === undefined) return null;
  const facts = commandFacts(events);
  const state = facts.status ?? (facts.approval?.status === 'pending' ? 'pending_approval' : 'proposed');
  return (
    <li class="thread__item thread__item--command">
      <Time event={first} />
      <span class="thread__label">Command{facts.background ? ' · background' : ''}</span>
      <span class="thread__body">
        <code class="thread__command">{facts.command ?? commandId}</code>
        <span class="thread__facts">
          {facts.decision === null ? null : <Badge value={facts.decision} />}{' '}
          <Outcome state={state as CommandState} exitCode={facts.exitCode} />
          {facts.durationMs === null ? null : <span class="muted"> {duration(facts.durationMs)}</span>}
          {facts.approval === null ? null : (
            <span>
              {' '}
              · asked a person (
              <a href={href('approvals', facts.approval.id)} class="mono">
                {shortId(facts.approval.id)}
              </a>
              ): {text(facts.approval.status)}
              {facts.approval.decidedBy === null ? '' : ` by ${facts.approval.decidedBy}`}
            </span>
          )}
        </span>
        {facts.reasons.length === 0 || facts.decision === 'allow' ? null : (
          <ul class="reasons">
            {facts.reasons.map((reason) => (
              <li key={reason}>{reason}</li>
            ))}
          </ul>
        )}
        {facts.decision === 'deny' ? null : (
          <button
            type="button"
            class="button button--small button--ghost"
            aria-expanded={open}
            onClick={() => setOpen(!open)}
          >
            {open ? 'Hide output' : 'Show output'}
          </button>
        )}
        {open && first.sessionId !== null ? (
          <CommandOutput
            sessionId={first.sessionId}
            commandId={commandId}
            running={state === 'running'}
            label={`Output of ${facts.command ?? commandId}`}
          />
        ) : null}
      </span>
    </li>
  );
}
