/**
 * One request in context, so a person decides well in one step: the command as the policy parsed it
 * (the effects and the rules that asked), what the session ran just before, the time left, and the
 * decision with a reason and a grant. `a` approves, `d` denies, `r` goes to the reason.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApprovalContext, ApprovalGrant } from '../../../src/sdk/index.ts';
import { Badge, Outcome } from '../components/badges.tsx';
import { useNow } from '../components/use-now.ts';
import { ago, clock, countdown, dateTime } from '../format.ts';
import { typingInField } from '../keys.ts';
import { href } from '../route.ts';
import { useApp } from '../state/context.ts';
import { messageOf, useResource } from '../state/resource.ts';
import { grantOptions, grantRequest } from './grants.ts';
import type { GrantScope } from './grants.ts';

export function ApprovalDetail({
  id,
  onDecided,
}: {
  readonly id: string;
  readonly onDecided: (id: string) => void;
}) {
  const { client } = useApp();
  const context = useResource((signal) => client.approvals.context(id, { signal }), [id], {
    refreshOn: (event) => event.type === 'approval.decided' && event.data['approvalId'] === id,
  });
  if (context.error !== null)
    return (
      <p class="error" role="alert">
        {context.error}
      </p>
    );
  if (context.data === undefined || context.data.approval.id !== id) return <p class="muted">Loading…</p>;
  return <Detail context={context.data} onDecided={onDecided} />;
}

function Detail({
  context,
  onDecided,
}: {
  readonly context: ApprovalContext;
  readonly onDecided: (id: string) => void;
}) {
  const { approval, decision, analysis, recent } = context;
  const now = useNow(1000);
  const left = countdown(approval.expiresAt, now);
  const before = recent.filter((command) => command.id !== approval.commandId).slice(0, 8);
  return (
    <article class="approval" aria-labelledby="approval-title">
      <header class="approval__head">
        <h2 id="approval-title">
          {approval.action === 'write_file' ? 'Write a file' : 'Run a command'} in{' '}
          <a href={href('sessions', approval.sessionId)} class="mono">
            {approval.sessionId}
          </a>
        </h2>
        {approval.status === 'pending' ? (
          <p
            class={`timer${left !== null && Date.parse(approval.expiresAt) - now < 60_000 ? ' timer--urgent' : ''}`}
            role="timer"
            aria-live="off"
          >
            {left === null ? 'Expired: undecided means denied' : `Expires in ${left}`}
          </p>
        ) : (
          <Badge value={approval.status} />
        )}
      </header>
      <pre class="subject" aria-label="The request, as the agent sent it (control characters escaped)">
        {approval.subject}
      </pre>

      <section aria-labelledby="why-title">
        <h3 id="why-title">Why a person is asked</h3>
        <ul class="reasons">
          {approval.reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
        {decision === null || decision.ruleIds.length === 0 ? null : (
          <p class="muted">
            Rules:{' '}
            {decision.ruleIds.map((rule) => (
              <code key={rule} class="chip">
                {rule}
              </code>
            ))}{' '}
            · policy {decision.policy}
          </p>
        )}
      </section>

      {analysis === null ? null : (
        <section aria-labelledby="reading-title">
          <h3 id="reading-title">How the policy reads it</h3>
          <ol class="parsed">
            {analysis.commands.map((part, index) => (
              <li key={`${index}:${part.command}`} class="parsed__command">
                <div class="parsed__head">
                  <code>{part.command}</code> <Badge value={part.decision} />
                </div>
                {part.effects.length === 0 ? null : (
                  <ul class="effects">
                    {part.effects.map((effect, effectIndex) => (
                      <li key={effectIndex} class={`effect effect--${effect.decision}`}>
                        <span>{effect.summary}</span> <Badge value={effect.decision} />{' '}
                        <code class="chip" title="the rule that decided">
                          {effect.ruleId}
                        </code>
                        {effect.decision === 'allow' ? null : (
                          <span class="effect__reason">{effect.reason}</span>
                        )}
                      </li>
                    ))}
                  </ul>
                )}
              </li>
            ))}
          </ol>
          {analysis.hazards.length === 0 ? null : (
            <ul class="reasons reasons--hazard">
              {analysis.hazards.map((hazard, index) => (
                <li key={index}>
                  {hazard.summary}: {hazard.reason}
                </li>
              ))}
            </ul>
          )}
        </section>
      )}

      {approval.status === 'pending' ? (
        // One form per request: a reason or a wider grant chosen for one request must never carry
        // over to the next one the queue moves on to.
        <DecisionForm
          key={approval.id}
          approvalId={approval.id}
          action={approval.action}
          grants={approval.grants}
          onDecided={onDecided}
        />
      ) : (
        <p class="decided">
          {approval.status === 'expired'
            ? 'Nobody decided in time'
            : `${approval.status === 'approved' ? 'Approved' : 'Denied'} by ${approval.decidedBy ?? 'someone'}`}
          {approval.decidedAt === null ? '' : `, ${ago(approval.decidedAt)}`}
          {approval.decisionReason === null ? '' : `: “${approval.decisionReason}”`}
        </p>
      )}

      <section aria-labelledby="recent-title">
        <h3 id="recent-title">Before this, the session ran</h3>
        {before.length === 0 ? (
          <p class="muted">Nothing yet: this is the session's first command.</p>
        ) : (
          <ol class="recent">
            {before.map((command) => (
              <li key={command.id}>
                <time dateTime={command.createdAt} title={dateTime(command.createdAt)}>
                  {clock(command.createdAt)}
                </time>{' '}
                <code>{command.command}</code> <Outcome state={command.state} exitCode={command.exitCode} />
              </li>
            ))}
          </ol>
        )}
      </section>
    </article>
  );
}

function DecisionForm(props: {
  readonly approvalId: string;
  readonly action: string;
  readonly grants: readonly ApprovalGrant[];
  readonly onDecided: (id: string) => void;
}) {
  const { approvalId, onDecided } = props;
  const { client, canDecide, notify } = useApp();
  const [reason, setReason] = useState('');
  const [scope, setScope] = useState<GrantScope>('once');
  const [busy, setBusy] = useState(false);
  const reasonBox = useRef<HTMLTextAreaElement>(null);

  const decide = async (decision: 'approve' | 'deny'): Promise<void> => {
    if (busy) return;
    setBusy(true);
    try {
      // From the field itself: a shortcut pressed right after typing may run before the last keystroke
      // reached the component's state.
      const trimmed = (reasonBox.current?.value ?? reason).trim();
      const options = trimmed === '' ? {} : { reason: trimmed };
      const decided =
        decision === 'approve'
          ? await client.approvals.approve(approvalId, { ...options, ...grantRequest(scope) })
          : await client.approvals.deny(approvalId, options);
      notify(
        decision === 'approve'
          ? `Approved: the ${props.action === 'write_file' ? 'write' : 'command'} goes ahead`
          : 'Denied: the agent is told why',
      );
      setReason('');
      onDecided(decided.id);
    } catch (error) {
      notify(`Could not ${decision}: ${messageOf(error)}`, 'error');
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    if (!canDecide) return undefined;
    const onKey = (event: KeyboardEvent): void => {
      if (event.ctrlKey || event.metaKey || event.altKey || typingInField(event)) return;
      if (event.key === 'a' || event.key === 'd') {
        event.preventDefault();
        void decide(event.key === 'a' ? 'approve' : 'deny');
      } else if (event.key === 'r') {
        event.preventDefault();
        reasonBox.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  if (!canDecide) {
    return <p class="notice">You are signed in as a viewer: approvers and the admin decide.</p>;
  }
  return (
    <form class="decision" onSubmit={(event) => event.preventDefault()} aria-label="Decision">
      <fieldset class="grants">
        <legend>If approved, grant</legend>
        {grantOptions(props.grants).map((option) => (
          <label key={option.scope} class={`grant${option.available ? '' : ' grant--unavailable'}`}>
            <input
              type="radio"
              name="grant"
              value={option.scope}
              checked={scope === option.scope}
              disabled={!option.available}
              onChange={() => setScope(option.scope)}
            />
            <span>
              {option.label}
              <span class="grant__help">{option.help}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <label class="field">
        <span class="field__label">Reason (the agent reads it)</span>
        <textarea
          ref={reasonBox}
          rows={2}
          maxLength={2000}
          value={reason}
          onInput={(event) => setReason((event.target as HTMLTextAreaElement).value)}
        />
      </label>
      <div class="decision__buttons">
        <button
          type="button"
          class="button button--primary"
          disabled={busy}
          onClick={() => void decide('approve')}
        >
          Approve <kbd aria-hidden="true">a</kbd>
        </button>
        <button
          type="button"
          class="button button--danger"
          disabled={busy}
          onClick={() => void decide('deny')}
        >
          Deny <kbd aria-hidden="true">d</kbd>
        </button>
      </div>
    </form>
  );
}
