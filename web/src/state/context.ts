import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { AirlockClient, SignedIn } from '../../../src/sdk/index.ts';
import type { LiveFeed } from './live.ts';

export interface AppState {
  readonly client: AirlockClient;
  readonly me: SignedIn;
  readonly live: LiveFeed;
  /** Whether this person may approve, deny, kill and end (admin and approvers). */
  readonly canDecide: boolean;
  /** A short message for the toast region (announced to screen readers). */
  notify(message: string, tone?: 'ok' | 'error'): void;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const state = useContext(AppContext);
  if (state === null) throw new Error('useApp outside the signed-in app');
  return state;
}
