/**
 * The hosts a person granted one session, in two kinds: `host:port` pairs (an ask answered with
 * "remember", or a grant from the dashboard or API), and host rules granted with a command a person
 * approved (scope `host`). Both are kept apart from the session's list, so a live change of the list
 * does not take back what a person gave for the rest of the session.
 */
import { compileAllowList, type AllowList, type HostRule } from './allow-list.ts';
import { MAX_ALLOW_ENTRIES } from './network-policy.ts';

/**
 * Hosts a person may grant one session: each is one question a person answered, so a session needing
 * more should have them on its allow-list instead; past it, a grant is refused (never one forgotten).
 */
export const MAX_GRANTED_HOSTS = 256;

export interface GrantedPair {
  readonly host: string;
  readonly port: number;
}

export class SessionGrants {
  readonly #pairs = new Map<string, GrantedPair>();
  #rules: readonly HostRule[] = [];
  #ruleList: AllowList = compileAllowList([]);

  allows(host: string, port: number): boolean {
    return this.#pairs.has(`${host}:${port}`) || this.#ruleList.allows(host, port);
  }

  /** Grants `host:port`; false (nothing granted) once MAX_GRANTED_HOSTS are held. */
  grant(host: string, port: number): boolean {
    const key = `${host}:${port}`;
    if (!this.#pairs.has(key) && this.#pairs.size >= MAX_GRANTED_HOSTS) return false;
    this.#pairs.set(key, { host, port });
    return true;
  }

  /** Withdraws a `host:port` grant; false when there was none. */
  revoke(host: string, port: number): boolean {
    return this.#pairs.delete(`${host}:${port}`);
  }

  /** Hosts granted with an approved command; at most MAX_ALLOW_ENTRIES rules are kept. */
  grantRules(rules: readonly HostRule[]): void {
    this.#rules = [...this.#rules, ...rules].slice(0, MAX_ALLOW_ENTRIES);
    this.#ruleList = compileAllowList(this.#rules);
  }

  /** The `host:port` pairs granted one by one (not those of rules), to be given again as they are. */
  pairs(): readonly GrantedPair[] {
    return Object.freeze([...this.#pairs.values()]);
  }

  /** Every grant as `host:port`, each once. */
  list(): readonly string[] {
    const fromRules = this.#rules.flatMap((rule) => rule.ports.map((port) => `${rule.host}:${port}`));
    return Object.freeze([...new Set([...this.#pairs.keys(), ...fromRules])]);
  }
}
