/**
 * The signed-in dashboard: a header with the tabs, the live status and the person's role, the view
 * the route names, a toast region, and what watches for new approvals (title count, notification).
 */
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
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

/**
 * Toasts live in their own component, fed through this small channel, so a message re-renders the
 * toast region only, never the view under it.
 */
function createToasts() {
  const listeners = new Set<(toast: Toast) => void>();
  let next = 0;
  return {
    push(message: string, tone: 'ok' | 'error' = 'ok'): void {
      const toast = { id: next++, message, tone };
      for (const listener of listeners) listener(toast);
    },
    subscribe(listener: (toast: Toast) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function SignedInApp(props: {
  readonly client: AirlockClient;
  readonly me: SignedIn;
  readonly onSignOut: () => void;
}) {
  const { client, me } = props;
  const live = useMemo(() => startLiveFeed(client), [client]);
  useEffect(() => () => live.stop(), [live]);
  const toasts = useMemo(createToasts, []);
  const state: AppState = useMemo(
    () => ({
      client,
      me,
      live,
      notify: toasts.push,
      canDecide: me.role === 'admin' || me.role === 'approver',
    }),
    [client, me, live, toasts],
  );
  return (
    <AppContext.Provider value={state}>
      <Shell onSignOut={props.onSignOut} />
      <Toasts source={toasts} />
    </AppContext.Provider>
  );
}

function Toasts({ source }: { readonly source: ReturnType<typeof createToasts> }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  useEffect(
    () =>
      source.subscribe((toast) => {
        setToasts((current) => [...current.slice(-3), toast]);
        setTimeout(() => setToasts((current) => current.filter((shown) => shown.id !== toast.id)), 6000);
      }),
    [source],
  );
  return (
    <div class="toasts" role="status" aria-live="polite">
      {toasts.map((toast) => (
        <p key={toast.id} class={`toast toast--${toast.tone}`}>
          {toast.message}
        </p>
      ))}
    </div>
  );
}

function Shell({ onSignOut }: { readonly onSignOut: () => void }) {
  const route = useRoute();
  const [helpOpen, setHelpOpen] = useState(false);
  const openHelp = useCallback(() => setHelpOpen(true), []);
  useShortcuts({ openHelp });
  const tab = tabs.find((candidate) => candidate.id === route.tab) ?? tabs[0];
  return (
    <div class="app">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Header
        current={tab?.id ?? ''}
        label={tab?.label ?? 'Airlock'}
        onSignOut={onSignOut}
        onHelp={openHelp}
      />
      <main id="main" class="main" tabIndex={-1}>
        {tab === undefined ? null : <tab.View id={route.id} />}
      </main>
      {helpOpen ? <Shortcuts onClose={() => setHelpOpen(false)} /> : null}
    </div>
  );
}

/**
 * The header owns what changes often and concerns everyone (the pending count, the live status), so
 * those changes re-render the header, never the view below it.
 */
function Header(props: {
  readonly current: string;
  readonly label: string;
  readonly onSignOut: () => void;
  readonly onHelp: () => void;
}) {
  const { current, label } = props;
  const app = useApp();
  const pending = useResource<readonly ApprovalRecord[]>(
    (signal) => app.client.approvals.list({ status: 'pending', signal }),
    [],
    { refreshOn: (event) => event.type.startsWith('approval.'), intervalMs: 5000 },
  );
  const pendingCount = pending.data?.length ?? 0;
  usePendingAlerts(pending.data);
  useEffect(() => {
    document.title = `${pendingCount > 0 ? `(${pendingCount}) ` : ''}${label} · Airlock`;
  }, [pendingCount, label]);
  const [theme, setTheme] = useState(storedTheme);
  const [status, setStatus] = useState<LiveStatus>('connecting');
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
          title="Switch between the system's theme, dark and light"
        >
          {theme === 'system' ? 'Auto' : theme === 'dark' ? 'Dark' : 'Light'}
          <span class="visually-hidden"> theme: switch</span>
        </button>
        <button type="button" class="button button--ghost" onClick={props.onHelp}>
          ?<span class="visually-hidden"> Keyboard shortcuts</span>
        </button>
        <button type="button" class="button button--ghost" onClick={props.onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}
