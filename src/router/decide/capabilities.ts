/**
 * What the policy judges a session's commands against: its sandbox as it is now. The network comes
 * from the session's live list (an allowed host runs unasked, a host off it asks a person in `ask`
 * mode and is refused otherwise), so a command and the egress proxy agree on what is reachable.
 * Its egress secrets are placeholders (`$API_TOKEN` in a command shows nothing secret).
 */
import { DEFAULT_CAPABILITIES } from '../../policy/index.ts';
import type { SessionCapabilities } from '../../policy/index.ts';
import type { LiveSession, SessionNetwork } from '../../sessions/index.ts';

export type CapabilitiesFor = (session: LiveSession) => SessionCapabilities;

/**
 * One capabilities value per network value: the policy engine compiles each value once, and a live
 * change replaces the session's network, so the next command is judged against the new list.
 */
export function createCapabilitiesFor(): CapabilitiesFor {
  const made = new WeakMap<SessionNetwork, SessionCapabilities>();
  return (session) => {
    const { network } = session;
    let capabilities = made.get(network);
    if (capabilities === undefined) {
      capabilities = Object.freeze({
        ...DEFAULT_CAPABILITIES,
        driver: session.settings.driver,
        network: Object.freeze({
          mode: network.mode,
          allow: network.allow,
          registryNames: network.registryNames,
        }),
        secrets: Object.freeze({
          ...DEFAULT_CAPABILITIES.secrets,
          placeholders: Object.freeze(network.secrets.map((secret) => secret.name)),
        }),
      });
      made.set(network, capabilities);
    }
    return capabilities;
  };
}
