/**
 * Token formats the redactor hides wherever they appear, each under a named kind (`[REDACTED:<kind>]`).
 *
 * Every pattern must run in linear time on hostile output, because an agent chooses what its commands
 * print. The rules that keep them linear:
 * - A token starts only where a run of its characters starts (a negative lookbehind), so a 1 MiB run of
 *   `eyJeyJ…` is tried once, not at every offset.
 * - A repeated character class is never followed by something that class can also match (`[A-Za-z0-9_-]+`
 *   then `\.`), so backtracking gives up after one step per character.
 * - Repetitions that are followed by more pattern are bounded (`{0,16}`, `{1,256}`).
 * - No nested unbounded quantifiers.
 * Private key blocks need "from BEGIN to END or to the end of the text"; a lazy `[\s\S]*?` would rescan
 * the rest of the text once per BEGIN, so the redactor handles them with two plain searches instead.
 *
 * Minimum lengths sit well above what ordinary output holds after the same prefix, and every pattern
 * needs a fixed prefix or a secret-looking name before it, so hex hashes, UUIDs and git SHAs never match.
 *
 * Named groups `pre` and `post` are kept as they are (the header name, the URL's user and host); the
 * rest of the match is the secret.
 */

export interface SecretPattern {
  /** Names the secret in the marker: `[REDACTED:<kind>]`. */
  readonly kind: string;
  /** A global regular expression; the redactor compiles its own copy, so `lastIndex` is never shared. */
  readonly pattern: RegExp;
  /**
   * Literals of which every match holds at least one (lower case for a case-insensitive pattern, found
   * in the lower-cased text). Text holding none of them cannot match, so the pattern is not run: most
   * files and outputs hold no `://` or `authorization`, and running every pattern over them was most
   * of the cost of redacting a file (a test checks each hint against the pattern's cases).
   */
  readonly hints: readonly string[];
}

/** Header and footer of PEM/OpenSSH/PGP private keys (`-----BEGIN RSA PRIVATE KEY-----`). */
export const PRIVATE_KEY_BEGIN = /-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;
export const PRIVATE_KEY_END = /-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;
export const PRIVATE_KEY_KIND = 'private-key';

/** Separators between a secret-looking name and its value: `=`, `: `, `": "`, `' = '`. */
const ASSIGN = `["']?[ \\t]{0,16}[:=][ \\t]{0,16}["']?`;

export const secretPatterns: readonly SecretPattern[] = Object.freeze([
  // Three base64url segments, the first a JSON header. The signature may be empty (alg "none") and still
  // carries the claims, so it is hidden too.
  {
    kind: 'jwt',
    pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g,
    hints: ['eyJ'],
  },
  // Access key ids are exactly 20 characters; AIDA/AROA (user and role ids) are identifiers, not secrets.
  {
    kind: 'aws-access-key-id',
    pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])/g,
    hints: ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'A3T'],
  },
  { kind: 'gcp-api-key', pattern: /(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35,}/g, hints: ['AIza'] },
  { kind: 'google-oauth-token', pattern: /(?<![A-Za-z0-9_-])ya29\.[A-Za-z0-9_-]{20,}/g, hints: ['ya29.'] },
  {
    kind: 'github-token',
    pattern: /(?<![A-Za-z0-9_])(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}/g,
    hints: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
  },
  { kind: 'github-token', pattern: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{30,}/g, hints: ['github_pat_'] },
  // Newer GitLab tokens carry dot-separated routing parts after the secret; they go too.
  {
    kind: 'gitlab-token',
    pattern:
      /(?<![A-Za-z0-9_-])(?:glpat|gldt|glrt|glptt|glft|glsoat|glcbt|glimt|gloas)-[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]{1,64}){0,4}/g,
    hints: ['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glft-', 'glsoat-', 'glcbt-', 'glimt-', 'gloas-'],
  },
  { kind: 'npm-token', pattern: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36,}/g, hints: ['npm_'] },
  {
    kind: 'slack-token',
    pattern: /(?<![A-Za-z0-9_-])(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,}/g,
    hints: ['xox', 'xapp-'],
  },
  // Anyone holding a webhook URL can post to the channel: the whole URL is the secret.
  {
    kind: 'slack-webhook',
    pattern: /https?:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{10,}/g,
    hints: ['hooks.slack.com/'],
  },
  // Test-mode keys still open the account's test data and settings, so they are hidden like live ones.
  {
    kind: 'stripe-key',
    pattern: /(?<![A-Za-z0-9_])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}/g,
    hints: ['_live_', '_test_'],
  },
  { kind: 'anthropic-key', pattern: /(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}/g, hints: ['sk-ant-'] },
  // Legacy keys are `sk-` + 48 letters and digits; requiring 32 without dashes keeps kebab-case words
  // such as `sk-learn-compatible-estimator` out.
  {
    kind: 'openai-key',
    pattern: /(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{32,})/g,
    hints: ['sk-'],
  },
  // A 40-character AWS secret has no prefix, so it is recognised only after a name that says what it
  // is: `AWS_SECRET_ACCESS_KEY=…`, `aws_secret_access_key = …`, `"SecretAccessKey": "…"`.
  {
    kind: 'aws-secret-access-key',
    pattern: new RegExp(
      `(?<pre>(?<![A-Za-z0-9])(?:aws[_.-]?)?secret[_.-]?(?:access[_.-]?)?key${ASSIGN})[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])`,
      'gi',
    ),
    hints: ['secret'],
  },
  {
    kind: 'aws-session-token',
    pattern: new RegExp(
      `(?<pre>(?<![A-Za-z0-9])(?:aws[_.-]?)?session[_.-]?token${ASSIGN})[A-Za-z0-9/+=]{100,}`,
      'gi',
    ),
    hints: ['session'],
  },
  // `Authorization: Bearer …` (curl -v, HTTP dumps, JSON headers). The header name and scheme stay so
  // the output still says what was sent. Without a scheme the value must look like a token (20+
  // characters) so that prose like "authorization: please log in" survives.
  {
    kind: 'authorization',
    pattern: new RegExp(
      `(?<pre>(?<![A-Za-z0-9_-])(?:proxy-)?authorization${ASSIGN}(?:bearer|basic|token|bot|apikey|negotiate)[ \\t]{1,16})[A-Za-z0-9._~+/=-]{8,}`,
      'gi',
    ),
    hints: ['authorization'],
  },
  {
    kind: 'authorization',
    pattern: new RegExp(
      `(?<pre>(?<![A-Za-z0-9_-])(?:proxy-)?authorization${ASSIGN})[A-Za-z0-9._~+/=-]{20,}`,
      'gi',
    ),
    hints: ['authorization'],
  },
  {
    kind: 'bearer-token',
    pattern: /(?<pre>(?<![A-Za-z0-9_-])[Bb]earer[ \t]{1,16})[A-Za-z0-9._~+/-]{20,}=*/g,
    hints: ['earer'],
  },
  // `scheme://user:password@host` keeps the user and the host: they say which service, not how to get in.
  {
    kind: 'url-password',
    pattern:
      /(?<pre>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/[^\s:/?#@]{0,256}:)[^\s/?#@]{1,256}(?<post>@)/g,
    hints: ['://'],
  },
]);
