/**
 * The cheap pass for commands too long to parse: every run of non-separator characters with quotes
 * and backslashes removed. Used only to find reasons to refuse (deny rules), never to allow.
 */
export function cheapWords(source: string): string[] {
  return source
    .split(/[\s;&|()<>`$]+/)
    .map((w) => w.replace(/['"\\{}]/g, ''))
    .filter((w) => w.length > 0);
}
