/**
 * What an approval grants, and how that travels to the server. Today `POST /v1/approvals/:id` knows
 * `remember` (this exact command again, for the rest of the session). Program and host scopes come with
 * approval scopes on the server: when it takes them, `request` below is the one place to extend, and
 * `available` turns them on.
 */
export type GrantScope = 'once' | 'command' | 'program' | 'host';

export interface GrantOption {
  readonly scope: GrantScope;
  readonly label: string;
  readonly help: string;
  /** False until the server takes this scope. */
  readonly available: boolean;
}

export const GRANT_OPTIONS: readonly GrantOption[] = [
  { scope: 'once', label: 'Just this once', help: 'The next request like it asks again.', available: true },
  {
    scope: 'command',
    label: 'This command, for the rest of the session',
    help: 'Exactly this command runs again without asking (never one with $variables or substitutions).',
    available: true,
  },
  {
    scope: 'program',
    label: 'This program, in this session',
    help: 'Not on this server yet: it needs approval scopes.',
    available: false,
  },
  {
    scope: 'host',
    label: 'This host, in this session',
    help: 'Not on this server yet: it needs approval scopes.',
    available: false,
  },
];

/** The fields of the approve request for a scope. */
export function grantRequest(scope: GrantScope): { readonly remember?: boolean } {
  switch (scope) {
    case 'once':
      return {};
    case 'command':
      return { remember: true };
    case 'program':
    case 'host':
      // The server refuses fields it does not know (strict schemas), so these are never sent until it takes them.
      throw new Error(`the ${scope} scope is not available on this server yet`);
    default:
      return scope satisfies never;
  }
}
