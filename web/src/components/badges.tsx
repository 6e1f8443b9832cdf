import type { CommandState, DecisionValue, RunStatus } from '../../../src/sdk/index.ts';

const TONES: Readonly<Record<string, string>> = {
  allow: 'ok',
  ask: 'warn',
  deny: 'bad',
  completed: 'ok',
  approved: 'ok',
  running: 'info',
  proposed: 'info',
  pending_approval: 'warn',
  pending: 'warn',
  denied: 'bad',
  failed: 'bad',
  timed_out: 'bad',
  killed: 'bad',
  interrupted: 'bad',
  rate_limited: 'warn',
  expired: 'muted',
  active: 'ok',
  ended: 'muted',
  allowed: 'ok',
  refused: 'bad',
  allowlist: 'info',
  not_allowed: 'bad',
  ask_denied: 'bad',
  ask_timed_out: 'warn',
  address_forbidden: 'bad',
};

/** A word with a colour; the word carries the meaning, so colour is never the only signal. */
export function Badge({ value }: { readonly value: DecisionValue | CommandState | RunStatus | string }) {
  return <span class={`badge badge--${TONES[value] ?? 'muted'}`}>{value.replace(/_/g, ' ')}</span>;
}

/** A command's outcome in one word: its state, or its exit code once it completed. */
export function Outcome({
  state,
  exitCode,
}: {
  readonly state: CommandState;
  readonly exitCode: number | null;
}) {
  if (state === 'completed' && exitCode !== null && exitCode !== 0) {
    return <span class="badge badge--bad">exit {exitCode}</span>;
  }
  return <Badge value={state === 'completed' ? 'completed' : state} />;
}
