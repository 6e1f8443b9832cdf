/**
 * The values in a file that looks like a secret (`.env`, a key, credentials), so that every output of
 * the session redacts them: a model that reads the file, or a command that prints one, sees a marker.
 * Values shorter than the redactor's minimum are skipped (redacting them would shred ordinary text).
 */

/** Most values taken from one archive: a file of a million lines must not grow the redactor without bound. */
export const MAX_SECRET_VALUES = 256;
const PEM_ARMOR = /^-----(BEGIN|END) /;
const QUOTED = /"([^"\\]{12,})"/g;

export function secretValuesOf(path: string, data: Buffer, minLength: number): string[] {
  const text = data.toString('utf8');
  const values = new Set<string>();
  const name = path.split('/').at(-1) ?? path;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || PEM_ARMOR.test(line)) continue;
    if (name.startsWith('.env')) {
      const match = /^(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=\s*(.*)$/.exec(line);
      const value = match?.[1]?.replace(/^(['"])(.*)\1$/, '$2');
      if (value !== undefined && value.length >= minLength) values.add(value);
    } else if (name.endsWith('.json')) {
      for (const quoted of line.matchAll(QUOTED)) if (quoted[1] !== undefined) values.add(quoted[1]);
    } else if (line.length >= minLength) {
      // Key files, .netrc, .git-credentials: every line is part of the secret.
      values.add(line);
    }
    if (values.size >= MAX_SECRET_VALUES) break;
  }
  return [...values];
}
