/**
 * A new approval request reaches the person wherever they are: a toast on the page, and a desktop
 * notification when they allowed them (the browser asks only after a click, never on load).
 */
import { useEffect, useRef } from 'preact/hooks';
import type { ApprovalRecord } from '../../src/sdk/index.ts';
import { navigate } from './route.ts';
import { useApp } from './state/context.ts';

export function notificationsSupported(): boolean {
  return typeof window.Notification === 'function';
}

function announce(approval: ApprovalRecord): void {
  if (!notificationsSupported() || window.Notification.permission !== 'granted') return;
  const notification = new window.Notification('Airlock: a command needs a decision', {
    body: approval.subject.slice(0, 200),
    tag: approval.id,
  });
  notification.onclick = () => {
    window.focus();
    navigate('approvals', approval.id);
  };
}

export function usePendingAlerts(pending: readonly ApprovalRecord[] | undefined): void {
  const { notify } = useApp();
  /** Ids already seen; null until the first load, whose requests are not news. */
  const seen = useRef<Set<string> | null>(null);
  useEffect(() => {
    if (pending === undefined) return;
    const known = seen.current;
    seen.current = new Set([...(known ?? []), ...pending.map((approval) => approval.id)]);
    if (known === null) return;
    for (const approval of pending) {
      if (known.has(approval.id)) continue;
      notify(`New approval request: ${approval.subject.slice(0, 80)}`);
      announce(approval);
    }
  }, [pending, notify]);
}
