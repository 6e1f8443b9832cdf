/**
 * The signed-in dashboard: a header with the tabs, the live status and the person's role, the view
 * the route names, a toast region, and what watches for new approvals (title count, notification).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AirlockClient, ApprovalRecord, SignedIn } from '../../src/sdk/index.ts';
import { Shortcuts, useShortcuts } from './components/shortcuts.tsx';
import { href, useRoute } from './route.ts';
import { AppContext, useApp } from './state/context.ts';
import type { AppState } from './state/context.ts';
import { startLiveFeed } from './state/live.ts';
import type { LiveStatus } from './state/live.ts';
import { useResource } from './state/resource.ts';
import { tabs } from './tabs.tsx';
import { applyTheme, nextTheme, storedTheme } from './theme.ts';
import { usePendingAlerts } from './notifications.ts';

interface Toast {
  readonly id: number;
  readonly message: string;
  readonly tone: 'ok' | 'error';
}

export function SignedInApp(props: {
  readonly client: AirlockClient;
  readonly me: SignedIn;
  readonly onSignOut: () => void;
}) {
  const { client, me } = props;
  const live = useMemo(() => startLiveFeed(client), [client]);
  useEffect(() => () => live.stop(), [live]);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextToast = useRef(0);
  const notify = useCallback((message: string, tone: 'ok' | 'error' = 'ok') => {
    const id = nextToast.current++;
    setToasts((current) => [...current.slice(-3), { id, message, tone }]);
    setTimeout(() => setToasts((current) => current.filter((toast) => toast.id !== id)), 6000);
  }, []);
  const state: AppState = useMemo(
    () => ({ client, me, live, notify, canDecide: me.role === 'admin' || me.role === 'approver' }),
    [client, me, live, notify],
  );
  return (
    <AppContext.Provider value={state}>
      <Shell onSignOut={props.onSignOut} toasts={toasts} />
    </AppContext.Provider>
  );
}

function Shell({ onSignOut, toasts }: { readonly onSignOut: () => void; readonly toasts: readonly Toast[] }) {
  const route = useRoute();
  const { client } = useApp();
  const pending = useResource<readonly ApprovalRecord[]>(
    (signal) => client.approvals.list({ status: 'pending', signal }),
    [],
    { refreshOn: (event) => event.type.startsWith('approval.'), intervalMs: 5000 },
  );
  const pendingCount = pending.data?.length ?? 0;
  usePendingAlerts(pending.data);
  const [helpOpen, setHelpOpen] = useState(false);
  useShortcuts({ openHelp: () => setHelpOpen(true) });
  const tab = tabs.find((candidate) => candidate.id === route.tab) ?? tabs[0];

  useEffect(() => {
    document.title = `${pendingCount > 0 ? `(${pendingCount}) ` : ''}${tab?.label ?? 'Airlock'} · Airlock`;
  }, [pendingCount, tab]);

  return (
    <div class="app">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Header
        pendingCount={pendingCount}
        current={tab?.id ?? ''}
        onSignOut={onSignOut}
        onHelp={() => setHelpOpen(true)}
      />
      <main id="main" class="main" tabIndex={-1}>
        {tab === undefined ? null : <tab.View id={route.id} />}
      </main>
      <div class="toasts" role="status" aria-live="polite">
        {toasts.map((toast) => (
          <p key={toast.id} class={`toast toast--${toast.tone}`}>
            {toast.message}
          </p>
        ))}
      </div>
      {helpOpen ? <Shortcuts onClose={() => setHelpOpen(false)} /> : null}
    </div>
  );
}

function Header(props: {
  readonly pendingCount: number;
  readonly current: string;
  readonly onSignOut: () => void;
  readonly onHelp: () => void;
}) {
  const { pendingCount, current } = props;
  const [theme, setTheme] = useState(storedTheme);
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const app = useApp();
  useEffect(() => app.live.onStatus(setStatus), [app.live]);
  return (
    <header class="header">
      <a class="brand" href={href('sessions')}>
        <span class="logo" aria-hidden="true" />
        <span>Airlock</span>
      </a>
      <nav class="tabs" aria-label="Views">
        {tabs.map((tab) => (
          <a
            key={tab.id}
            class="tab"
            href={href(tab.id)}
            aria-current={tab.id === current ? 'page' : undefined}
          >
            {tab.label}
            {tab.id === 'approvals' && pendingCount > 0 ? (
              <span class="tab__count" aria-label={`${pendingCount} pending`}>
                {pendingCount}
              </span>
            ) : null}
          </a>
        ))}
      </nav>
      <div class="header__tools">
        <span class={`live live--${status}`} title="Live updates from the audit log">
          {status === 'live' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
        <span class="who" title={`token ${app.me.tokenId}`}>
          {app.me.role}
          {app.me.name === null ? '' : ` · ${app.me.name}`}
        </span>
        <button
          type="button"
          class="button button--ghost"
          onClick={() => {
            const next = nextTheme(theme);
            applyTheme(next);
            setTheme(next);
          }}
          aria-label={`Theme: ${theme}. Switch theme`}
        >
          {theme === 'system' ? 'Auto' : theme === 'dark' ? 'Dark' : 'Light'}
        </button>
        <button
          type="button"
          class="button button--ghost"
          onClick={props.onHelp}
          aria-label="Keyboard shortcuts"
        >
          ?
        </button>
        <button type="button" class="button button--ghost" onClick={props.onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}
