/**
 * The approvals queue: what waits for a person, soonest to expire first, and the selected request in
 * context (see approval-detail.tsx). `j`/`k` move through the queue.
 */
import { useEffect } from 'preact/hooks';
import type { ApprovalRecord } from '../../../src/sdk/index.ts';
import { countdown, shortId } from '../format.ts';
import { typingInField } from '../keys.ts';
import { notificationsSupported } from '../notifications.ts';
import { href, navigate } from '../route.ts';
import { useApp } from '../state/context.ts';
import { useResource } from '../state/resource.ts';
import { useNow } from '../components/use-now.ts';
import { ApprovalDetail } from './approval-detail.tsx';

export function ApprovalsView({ id }: { readonly id: string | null }) {
  const { client } = useApp();
  const pending = useResource((signal) => client.approvals.list({ status: 'pending', signal }), [], {
    refreshOn: (event) => event.type.startsWith('approval.'),
    intervalMs: 5000,
    debounceMs: 100,
  });
  const queue = [...(pending.data ?? [])].sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt));
  const selected = id ?? queue[0]?.id ?? null;
  const index = queue.findIndex((approval) => approval.id === selected);

  useEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      if (event.ctrlKey || event.metaKey || event.altKey || typingInField(event)) return;
      const step = event.key === 'j' ? 1 : event.key === 'k' ? -1 : 0;
      if (step === 0 || queue.length === 0) return;
      event.preventDefault();
      const next = queue[Math.min(queue.length - 1, Math.max(0, (index < 0 ? 0 : index) + step))];
      if (next !== undefined) navigate('approvals', next.id);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [queue, index]);

  /** After a decision: the next request in the queue, if any. */
  const afterDecision = (decidedId: string): void => {
    const rest = queue.filter((approval) => approval.id !== decidedId);
    navigate('approvals', rest[Math.max(0, Math.min(index, rest.length - 1))]?.id ?? null);
    pending.reload();
  };

  return (
    <section
      aria-labelledby="approvals-title"
      class={`approvals${id === null ? '' : ' approvals--selected'}`}
    >
      <div class="view-head">
        <h1 id="approvals-title">Approvals</h1>
        <NotificationToggle />
      </div>
      {pending.error === null ? null : (
        <p class="error" role="alert">
          {pending.error}
        </p>
      )}
      <div class="approvals__layout">
        <nav class="queue" aria-label="Pending requests">
          {pending.data !== undefined && queue.length === 0 ? (
            <p class="empty">Nothing waits for a decision.</p>
          ) : null}
          <ol class="queue__list">
            {queue.map((approval) => (
              <QueueItem key={approval.id} approval={approval} current={approval.id === selected} />
            ))}
          </ol>
        </nav>
        <div class="approvals__detail">
          {selected === null ? null : (
            <>
              <a class="back-link" href={href('approvals')}>
                ← Queue
              </a>
              <ApprovalDetail id={selected} onDecided={afterDecision} />
            </>
          )}
        </div>
      </div>
    </section>
  );
}

function QueueItem({ approval, current }: { readonly approval: ApprovalRecord; readonly current: boolean }) {
  const now = useNow(1000);
  const left = countdown(approval.expiresAt, now);
  return (
    <li class={`queue__item${current ? ' queue__item--current' : ''}`}>
      <a href={href('approvals', approval.id)} aria-current={current ? 'true' : undefined}>
        <code class="queue__subject">{approval.subject}</code>
        <span class="queue__meta">
          <span class="mono">{shortId(approval.sessionId)}</span>
          <span class={left === null ? 'muted' : 'countdown'}>
            {left === null ? 'expired' : `${left} left`}
          </span>
        </span>
      </a>
    </li>
  );
}

function NotificationToggle() {
  const { notify } = useApp();
  if (!notificationsSupported()) return null;
  const permission = window.Notification.permission;
  if (permission === 'granted') return <span class="muted">Desktop notifications on</span>;
  if (permission === 'denied')
    return <span class="muted">Desktop notifications blocked in this browser</span>;
  return (
    <button
      type="button"
      class="button"
      onClick={() =>
        void window.Notification.requestPermission().then((answer) =>
          notify(answer === 'granted' ? 'You will be notified of new requests' : 'Notifications stay off'),
        )
      }
    >
      Notify me of new requests
    </button>
  );
}
