/** Generated /etc files: the sandbox gets its own identity, never the host's accounts or names. */

export const sandboxUser = { name: 'agent', uid: 1000, gid: 1000, home: '/workspace' } as const;
export const sandboxHostname = 'airlock';

export function generatedEtcFiles(): Record<string, string> {
  const { name, uid, gid, home } = sandboxUser;
  return {
    '/etc/passwd':
      'root:x:0:0:root:/root:/usr/sbin/nologin\n' +
      `${name}:x:${uid}:${gid}:Airlock agent:${home}:/bin/sh\n` +
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
    '/etc/group': `root:x:0:\n${name}:x:${gid}:\nnogroup:x:65534:\n`,
    // No resolv.conf or nsswitch.conf: glibc's defaults then try DNS on loopback, which is refused at
    // once (no network), and fall back to this file. Each generated file is one more mount per start.
    '/etc/hosts': `127.0.0.1\tlocalhost ${sandboxHostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
  };
}
