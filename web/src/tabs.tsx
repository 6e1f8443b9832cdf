/** The dashboard's views, in the order of the header. A view is one entry here. */
import type { FunctionComponent } from 'preact';
import { AgentsView } from './views/agents.tsx';
import { ApprovalsView } from './views/approvals.tsx';
import { AuditView } from './views/audit.tsx';
import { CommandsView } from './views/commands.tsx';
import { EgressView } from './views/egress.tsx';
import { SessionsView } from './views/sessions.tsx';

export interface Tab {
  readonly id: string;
  readonly label: string;
  /** After `g`: the shortcut to this view. */
  readonly key: string;
  /** Renders the view; `id` is the item the route names (a session, an approval), if any. */
  readonly View: FunctionComponent<{ readonly id: string | null }>;
}

export const tabs: readonly Tab[] = [
  { id: 'sessions', label: 'Sessions', key: 's', View: SessionsView },
  { id: 'commands', label: 'Commands', key: 'c', View: CommandsView },
  { id: 'approvals', label: 'Approvals', key: 'a', View: ApprovalsView },
  { id: 'agents', label: 'Agents', key: 'r', View: AgentsView },
  { id: 'egress', label: 'Egress', key: 'e', View: EgressView },
  { id: 'audit', label: 'Audit', key: 'l', View: AuditView },
];
