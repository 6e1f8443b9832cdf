/**
 * Whether a connection may go out, and to which addresses. Names are judged before anything is
 * resolved (a lookup of a name that is not allowed would itself carry data out, to whoever serves its
 * DNS), then resolved once, by the proxy, and every address is checked; the caller dials only those
 * checked addresses, so a DNS answer that changes between check and connect changes nothing.
 */
import { forbiddenAddressReason } from './address.ts';
import { formatHostPort, type TargetHost } from './host-name.ts';
import type { SessionState } from './session-state.ts';
import type { AllowVia, EgressProtocol, EgressResolver, RefusalCode } from './types.ts';

export type Decision =
  | { readonly allowed: true; readonly via: AllowVia; readonly addresses: readonly string[] }
  | { readonly allowed: false; readonly code: RefusalCode; readonly message: string };

/** At most this many addresses of one name are kept (and tried). */
const MAX_ADDRESSES = 8;

export function refusal(code: RefusalCode, message: string): Decision {
  return { allowed: false, code, message };
}

/** `evil.example` for the web's default ports, `evil.example:8080` otherwise: what the model recognises. */
export function displayTarget(host: string, port: number): string {
  return port === 80 || port === 443 ? host : formatHostPort(host, port);
}

export async function decideTarget(
  state: SessionState,
  target: TargetHost,
  port: number,
  protocol: EgressProtocol,
  resolve: EgressResolver,
  approvalWaitMs: number,
): Promise<Decision> {
  const shown = displayTarget(target.host, port);
  const network = state.network;
  if (state.closed)
    return refusal('session_closed', `airlock: egress to ${shown} refused: the session has ended`);
  if (network.mode === 'none') {
    return refusal('network_off', `airlock: egress to ${shown} is not allowed: this session has no network`);
  }
  const allowed = `allowed: ${network.allowList.describe()}`;
  let via: AllowVia = 'allowlist';
  if (!state.isAllowed(target.host, port)) {
    if (network.mode !== 'ask') {
      return refusal('not_allowed', `airlock: egress to ${shown} is not allowed in this session; ${allowed}`);
    }
    const outcome = await state.ask(target.host, port, protocol);
    if (outcome === 'timeout') {
      const seconds = Number((approvalWaitMs / 1000).toFixed(1));
      return refusal(
        'ask_timed_out',
        `airlock: egress to ${shown} was not approved within ${seconds} s; ${allowed}`,
      );
    }
    if (outcome === 'deny')
      return refusal('ask_denied', `airlock: egress to ${shown} was denied by a person; ${allowed}`);
    via = outcome === 'allow-once' ? 'approved_once' : 'approved_session';
    // The list may have changed (or the session ended) while a person was deciding.
    if (state.closed)
      return refusal('session_closed', `airlock: egress to ${shown} refused: the session has ended`);
  }

  // A session's own hosts entry is the one way to a private address: someone wrote it on purpose.
  const fixed = target.kind === 'name' ? network.hosts.get(target.host) : undefined;
  if (fixed !== undefined) return { allowed: true, via, addresses: [fixed] };

  let answers: readonly string[];
  if (target.kind === 'ip') answers = [target.host];
  else {
    try {
      answers = await resolve(target.host);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const why = typeof code === 'string' ? code : 'no answer';
      return refusal(
        'resolve_failed',
        `airlock: egress to ${shown} failed: the name does not resolve (${why})`,
      );
    }
  }
  const permitted = answers
    .filter((address) => forbiddenAddressReason(address) === undefined)
    .slice(0, MAX_ADDRESSES);
  if (permitted.length === 0) {
    const first = answers[0];
    if (first === undefined)
      return refusal('resolve_failed', `airlock: egress to ${shown} failed: the name has no addresses`);
    return refusal(
      'address_forbidden',
      `airlock: egress to ${shown} is refused: it leads to ${forbiddenAddressReason(first)} (${first}); only the session's network.hosts can map a name there`,
    );
  }
  return { allowed: true, via, addresses: permitted };
}

/*
 * Security limitations
 * - Names resolve through the host's resolver (getaddrinfo: the host's /etc/hosts and DNS); every answer
 *   is checked, but a public address the host's DNS returns for an allowed name is trusted.
 * - `hosts` entries are trusted as written, loopback included: mapping a name to the control plane's own
 *   port would expose it to the sandbox. They come from the configuration, never from the sandbox.
 * - An address literal can only be reached by a person's grant in ask mode; allow-lists name hosts.
 */
