/** Known bwrap start failures, each with what to change on the host. */
const knownFailures: { pattern: RegExp; fix: string }[] = [
  {
    pattern:
      /uid map|setting up uid|No permissions to creat(e|ing) new namespace|creating new namespace failed/i,
    fix: 'unprivileged user namespaces are blocked on this host (on Ubuntu: sysctl kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile for bwrap; elsewhere: sysctl user.max_user_namespaces=15000)',
  },
  {
    pattern: /Can't mount proc|mount proc/i,
    fix: 'the kernel refused a fresh /proc (often inside a container that masks /proc); run Airlock on the host or in a container with --privileged or a non-masked /proc',
  },
];

/** One line for a sandbox that did not start: bwrap's own words, then what to do about them. */
export function explainStartFailure(line: string): string {
  const known = knownFailures.find(({ pattern }) => pattern.test(line));
  return known ? `${line}: ${known.fix}` : line;
}
