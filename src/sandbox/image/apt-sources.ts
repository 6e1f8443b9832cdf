import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One apt source file: its path (the name tells the format) and its text. */
export interface AptSourceFile {
  readonly path: string;
  readonly text: string;
}

/**
 * The URI of the first `deb` source that serves `suite`, from apt's one-line (`.list`) or deb822
 * (`.sources`) files, in the order apt reads them. Users run behind mirrors, proxies and private
 * archives: the base image comes from the archive the machine already trusts, never from a host name
 * written into Airlock.
 */
export function debianMirrorFromSources(files: readonly AptSourceFile[], suite: string): string | undefined {
  for (const file of files) {
    const found = file.path.endsWith('.sources')
      ? fromDeb822(file.text, suite)
      : file.path.endsWith('.list')
        ? fromOneLine(file.text, suite)
        : undefined;
    if (found !== undefined) return found;
  }
  return undefined;
}

function fromOneLine(text: string, suite: string): string | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line.startsWith('deb ') && !line.startsWith('deb\t')) continue;
    // `deb [arch=amd64 signed-by=…] URI suite components…`
    const rest = line
      .slice(3)
      .trim()
      .replace(/^\[[^\]]*\]\s*/, '');
    const [uri, lineSuite] = rest.split(/\s+/);
    if (uri !== undefined && lineSuite === suite) return uri;
  }
  return undefined;
}

function fromDeb822(text: string, suite: string): string | undefined {
  for (const stanza of text.split(/\n[ \t]*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (match?.[1] !== undefined) fields.set(match[1].toLowerCase(), match[2] ?? '');
    }
    if (fields.get('enabled')?.trim().toLowerCase() === 'no') continue;
    const types = (fields.get('types') ?? '').split(/\s+/);
    const suites = (fields.get('suites') ?? '').split(/\s+/);
    const uri = (fields.get('uris') ?? '').split(/\s+/).find((value) => value !== '');
    if (types.includes('deb') && suites.includes(suite) && uri !== undefined) return uri;
  }
  return undefined;
}

/** Reads `/etc/apt/sources.list` and `/etc/apt/sources.list.d/*.{list,sources}` (missing ones skipped). */
export function readAptSources(root = '/etc/apt'): AptSourceFile[] {
  const paths = [join(root, 'sources.list')];
  try {
    const dir = join(root, 'sources.list.d');
    for (const name of readdirSync(dir).sort()) paths.push(join(dir, name));
  } catch {
    // No sources.list.d: only sources.list counts.
  }
  const files: AptSourceFile[] = [];
  for (const path of paths) {
    try {
      files.push({ path, text: readFileSync(path, 'utf8') });
    } catch {
      // Unreadable or vanished: apt would skip it too.
    }
  }
  return files;
}
