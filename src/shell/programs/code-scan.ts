import { hostOf, type ModelContext } from '../model.ts';
import { ALL_VARIABLES } from '../types.ts';
import { literalWord } from '../words.ts';

/** Longer program text is not scanned (the effects it names are then not seen; it still runs contained). */
export const MAX_SCANNED_CODE = 64 * 1024;

const URL = /\b([a-zA-Z][\w+.-]*):\/\/([^\s'"`)<>\]\\]+)/g;
/** `("host", 443)`, `PeerAddr=>"host"`: a socket peer written as a quoted name with a port. */
const SOCKET_PEER =
  /["']((?:[a-z0-9-]+\.)+[a-z]{2,}|\d{1,3}(?:\.\d{1,3}){3}|localhost)["']\s*(?:,|=>)\s*["']?\d{2,5}|PeerAddr\s*=>\s*["']([^"']+)["']/gi;
/** A quoted path: absolute, home, explicitly relative, or a dot file (`".env"`). */
const PATH_LITERAL = /["'](~?\/[^"'\s]+|\.{1,2}\/[^"'\s]+|\.[\w][\w.-]*)["']/g;
const NAMED_ENV =
  /os\.environ(?:\.get)?\s*[[(]\s*["'](\w+)["']|os\.getenv\(\s*["'](\w+)["']|process\.env\.(\w+)|process\.env\[\s*["'](\w+)["']|\$ENV\{\s*["']?(\w+)["']?\s*\}|ENV\[\s*["'](\w+)["']|getenv\(\s*["'](\w+)["']/g;
const WHOLE_ENV = /\bos\.environ\b(?!\s*(?:\.get\b|\[))|\bprocess\.env\b(?!\s*[.[])|%ENV\b|\benviron\(\)/;
/** A connection (or a listener) whose descriptors become a shell's: the shape of every scripted reverse or bind shell. */
const CONNECTS =
  /\bconnect\s*\(|IO::Socket|TCPSocket|TCPServer|fsockopen|net\.connect|createConnection|createServer|\/inet\/tcp/;
const SHELL_ON_IT =
  /dup2|pty\.spawn|\bpopen\b|\.pipe\(\s*sh\.stdin|\/bin\/(?:ba|z|da)?sh\b|["']sh\s+-i|\bexec\s*\(\s*["'](?:\/bin\/)?(?:ba)?sh|open\s*\(\s*STD(?:IN|OUT|ERR)\s*,\s*["']>&|\bspawn\(\s*["'](?:\/bin\/)?(?:ba)?sh/;

/**
 * What program text the command shows says about the boundary: hosts it connects to, files it names,
 * variables it reads, and the reverse-shell shape. Code that runs inside the sandbox is contained; this
 * scan only finds what would cross the boundary, so a person is asked (or it is refused) for that.
 */
export function scanCode(ctx: ModelContext, text: string): void {
  const code = text.length > MAX_SCANNED_CODE ? text.slice(0, MAX_SCANNED_CODE) : text;
  if (CONNECTS.test(code) && SHELL_ON_IT.test(code)) {
    ctx.hazard('reverse-shell', 'the program text connects a socket and hands it to a shell', 'deny');
  }
  for (const match of code.matchAll(URL)) {
    const scheme = (match[1] ?? '').toLowerCase();
    if (scheme === 'file') {
      const path = decodeURIComponent((match[2] ?? '').replace(/^[^/]*/, ''));
      if (path) ctx.read(literalWord(path, ctx.span));
      continue;
    }
    ctx.net(hostOf(literalWord(match[0], ctx.span)));
  }
  for (const match of code.matchAll(SOCKET_PEER)) {
    const host = (match[1] ?? match[2] ?? '').toLowerCase();
    if (host) ctx.net(host);
  }
  for (const match of code.matchAll(PATH_LITERAL)) {
    const path = match[1] as string;
    if (path.includes('://')) continue;
    ctx.read(literalWord(path, ctx.span));
  }
  for (const match of code.matchAll(NAMED_ENV)) {
    const name = match.slice(1).find((g) => g !== undefined);
    if (name) ctx.envRead(name);
  }
  if (WHOLE_ENV.test(code)) ctx.envRead(ALL_VARIABLES);
}

/*
 * Security limitations
 * - A scan of text, not a parse of each language: a host or path assembled at run time ("attack" +
 *   ".example") is not seen. Such code still runs inside the sandbox, whose network and file limits
 *   hold; the scan only lets the policy answer earlier and more precisely.
 */
