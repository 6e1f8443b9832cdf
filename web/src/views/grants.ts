/**
 * What an approval may grant beyond this once, as the request offers it (`grants`, computed by the
 * server from how the policy read the command): these exact commands, these programs, or these hosts,
 * for the rest of the session. A scope the request does not offer is shown, disabled, with why.
 */
import type { ApprovalGrant, GrantScope as ServerGrantScope } from '../../../src/sdk/index.ts';

export type GrantScope = 'once' | ServerGrantScope;

export interface GrantOption {
  readonly scope: GrantScope;
  readonly label: string;
  readonly help: string;
  /** Whether this request offers the scope. */
  readonly available: boolean;
}

const SCOPES: readonly { scope: ServerGrantScope; label: string; offered: string; notOffered: string }[] = [
  {
    scope: 'command',
    label: 'This command, for the rest of the session',
    offered: 'Runs again without asking, exactly as written: ',
    notOffered: 'Not offered here: only commands without $variables or substitutions can be remembered.',
  },
  {
    scope: 'program',
    label: 'This program, in this session',
    offered: 'Any later command of these programs runs without asking, whatever its arguments: ',
    notOffered: 'Not offered here: the request names no program that can be trusted by name.',
  },
  {
    scope: 'host',
    label: 'This host, in this session',
    offered: 'Later connections to these hosts go ahead without asking: ',
    notOffered: 'Not offered here: the request reaches no host.',
  },
];

export function grantOptions(offered: readonly ApprovalGrant[]): GrantOption[] {
  return [
    { scope: 'once', label: 'Just this once', help: 'The next request like it asks again.', available: true },
    ...SCOPES.map(({ scope, label, offered: says, notOffered }) => {
      const grant = offered.find((candidate) => candidate.scope === scope);
      return grant === undefined || grant.covers.length === 0
        ? { scope, label, help: notOffered, available: false }
        : { scope, label, help: `${says}${grant.covers.join(', ')}`, available: true };
    }),
  ];
}

/** The fields of the approve request for a scope: none for once. */
export function grantRequest(scope: GrantScope): { readonly scope?: ServerGrantScope } {
  return scope === 'once' ? {} : { scope };
}
