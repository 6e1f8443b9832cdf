import { hostOf, lit, type Model, type ModelContext } from '../model.ts';
import type { WordValue } from '../types.ts';
import { escapeGlob } from '../words.ts';

function literal(value: string, span: WordValue['span']): WordValue {
  return { kind: 'literal', value, pattern: escapeGlob(value), glob: false, span };
}

/**
 * socat ADDRESS ADDRESS: `exec:`/`system:` addresses run a program wired to the other side (with a
 * network peer: a reverse or bind shell; the escape is refused whatever the peer), `tcp:host:port`
 * and friends connect, `*-listen:` listens inside the sandbox, `file:`/`open:`/`create:` touch files.
 */
export const socat: Model = (ctx, args) => {
  for (const word of args) {
    const text = lit(word);
    if (text === null) {
      ctx.hazard('opaque-option', 'socat with an address only known at run time');
      ctx.net(null);
      continue;
    }
    if (text.startsWith('-')) continue;
    const [type = '', ...rest] = text.split(':');
    const kind = type.toLowerCase();
    const params = rest.join(':').split(',')[0] ?? '';
    if (/^(exec|system)$/.test(kind)) {
      ctx.hazard(
        'reverse-shell',
        `socat ${kind}: runs ${params || 'a program'} wired to its other address`,
        'deny',
      );
    } else if (
      /^(tcp|tcp4|tcp6|udp|udp4|udp6|tcp-connect|udp-connect|openssl|openssl-connect|sctp|sctp-connect|socks4a?|proxy|proxy-connect)$/.test(
        kind,
      )
    ) {
      const host = params.replace(/:\d+$/, '') || (rest[0] ?? '');
      ctx.net(host === '' ? null : host.toLowerCase());
    } else if (/^(file|open|gopen|create|creat|pipe)$/.test(kind) && params !== '') {
      const path = literal(params, word.span);
      ctx.read(path);
      if (/^(open|gopen|create|creat)$/.test(kind) || /creat|trunc|append/.test(text)) ctx.write(path);
    } else if (
      !/-listen$|-l$|^(stdin|stdout|stdio|-)$|^(pty|tun|unix-listen|abstract-listen)$/i.test(kind) &&
      kind !== ''
    ) {
      if (!/^(unix|unix-connect|abstract|abstract-connect|fd|readline)$/.test(kind))
        ctx.hazard('opaque-option', `socat address ${kind}: is not modelled`);
    }
  }
};

/** nc, ncat, netcat: `-e`/`-c`/`--exec`/`--sh-exec`/`--lua-exec` wire a program to the peer. */
export const netcat: Model = (ctx, args) => {
  let listens = false;
  for (const word of args) {
    const text = lit(word) ?? '';
    if (
      /^-[a-zA-Z]*[ec]$|^-[a-zA-Z]*[ec]\S|^--(exec|sh-exec|lua-exec)(=|$)/.test(text) &&
      !/^-[a-zA-Z]*[ec]\d/.test(text)
    ) {
      ctx.hazard('reverse-shell', `${ctx.program} ${text} wires a program to a network peer`, 'deny');
    }
    if (/^-[a-zA-Z]*l/.test(text) || text === '--listen') listens = true;
  }
  netHosts(ctx, args, listens);
};

/** Every operand that looks like a host is a peer; listening alone stays inside the sandbox. */
export function netHosts(ctx: ModelContext, args: readonly WordValue[], listens = false): void {
  ctx.generic(args.filter((a) => /[/~]/.test(lit(a) ?? '') && !/^[a-z]+:\/\//.test(lit(a) ?? '')));
  const hosts = args.filter((a) => {
    const text = lit(a);
    return (
      text === null ||
      (!text.startsWith('-') && !text.startsWith('+') && /[.:]|^localhost$/.test(text) && !/^\d+$/.test(text))
    );
  });
  if (hosts.length === 0 && !listens) ctx.net(null);
  for (const host of hosts) ctx.net(hostOf(host));
}
