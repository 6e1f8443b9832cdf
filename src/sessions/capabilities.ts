/**
 * What a session's sandbox lets its commands do, as the policy judges it: the driver, the network the
 * sandbox can really reach, the secrets it was given, where it may write, where commands start and
 * what `~` means. Computed once when the session is made and again only when it changes (a person
 * grants a host, a secret file is copied in), so the policy engine compiles it once per change.
 */
import type { SessionCapabilities } from '../policy/index.ts';
import type { DriverName } from '../sandbox/index.ts';
import type { SessionNetwork } from './types.ts';

/** Where commands start: the sandbox's workspace mount. */
export const SANDBOX_WORKSPACE = '/workspace';

/**
 * Where commands' HOME is: in the /tmp scratch, outside /workspace, so the caches and configuration
 * tools keep under `~` (`~/.cache/pip`, `~/.npm`, `~/.config`) never land in the project a person
 * copies back. /tmp is the same size-limited tmpfs on every driver.
 */
export const SANDBOX_HOME = '/tmp/home';

/** The directories a command may change: the two scratch mounts every driver makes. */
const WRITABLE_ROOTS: readonly string[] = Object.freeze([SANDBOX_WORKSPACE, '/tmp']);

export interface CapabilityInputs {
  readonly driver: DriverName;
  /** What the egress proxy lets the session reach now (a live change replaces it). */
  readonly network: SessionNetwork;
  /** Hosts a person granted for the rest of the session. */
  readonly grantedHosts: readonly string[];
  readonly secretEnvNames: readonly string[];
  /** Absolute paths of secret files copied into the sandbox. */
  readonly secretFiles: readonly string[];
  /** The HOME commands see. */
  readonly home: string;
}

export function capabilitiesOf(inputs: CapabilityInputs): SessionCapabilities {
  const { network } = inputs;
  const allow = [...network.allow, ...inputs.grantedHosts.filter((host) => !network.allow.includes(host))];
  return Object.freeze({
    driver: inputs.driver,
    network: Object.freeze({
      mode: network.mode,
      allow: Object.freeze(allow),
      registryNames: network.registryNames,
    }),
    secrets: Object.freeze({
      envNames: Object.freeze([...inputs.secretEnvNames]),
      files: Object.freeze([...new Set(inputs.secretFiles)]),
      // The proxy's secrets are placeholders inside the sandbox: `$API_TOKEN` shows nothing secret.
      placeholders: Object.freeze(network.secrets.map((secret) => secret.name)),
    }),
    writableRoots: WRITABLE_ROOTS,
    workspace: SANDBOX_WORKSPACE,
    home: inputs.home,
  });
}
