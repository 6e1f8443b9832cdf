/**
 * `router.reviewer`: who is asked about an approval request before a person is. A program (an argv,
 * spawned without a shell: the request as JSON on stdin, the answer as JSON on stdout) or an HTTP(S)
 * endpoint (the request POSTed as JSON, the answer in the response body), each answering within
 * `timeout`. A reviewer that fails, is late or answers anything but approve/deny/abstain abstains.
 */
import { z } from 'zod';
import { nonEmptyText, parsedValue, section, text } from './schema-parts.ts';
import { describeValue, parseDuration } from './units.ts';

/** A reviewer slower than this keeps the agent waiting too long to be worth asking. */
const MAX_REVIEW_MS = 5 * 60_000;

export type ReviewerConfig =
  | {
      readonly kind: 'command';
      readonly name: string;
      readonly argv: readonly string[];
      readonly timeoutMs: number;
    }
  | { readonly kind: 'http'; readonly name: string; readonly url: string; readonly timeoutMs: number };

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export const reviewerFields = {
  /** Who decided, in the audit log: `reviewer:<name>`. */
  name: text('name')
    .refine((name) => NAME.test(name), {
      error: 'name must be 1 to 64 letters, digits, ".", "_" or "-", like policy-bot',
    })
    .optional(),
  command: z
    .array(nonEmptyText('an argument'), {
      error: (issue) =>
        `command must be a list: the program and its arguments, like [/usr/local/bin/review, --strict], not ${describeValue(issue.input)}`,
    })
    .min(1, { error: 'command is empty: name the program to run' })
    .optional(),
  url: text('url').optional(),
  timeout: parsedValue((value) => parseDuration(value, { min: 100, max: MAX_REVIEW_MS })).prefault('10s'),
};

function urlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL, like http://127.0.0.1:9000/review`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `${JSON.stringify(url)} must be an http:// or https:// URL`;
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return `${JSON.stringify(url)} carries credentials: they would be written wherever the URL is shown`;
  }
  return undefined;
}

function defaultName(raw: { command?: readonly string[] | undefined; url?: string | undefined }): string {
  const source =
    raw.command?.[0]?.split('/').at(-1) ?? (raw.url === undefined ? '' : new URL(raw.url).hostname);
  const name = source.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  return name === '' ? 'reviewer' : name;
}

export const reviewerSchema = section('reviewer', reviewerFields).transform((raw, ctx): ReviewerConfig => {
  if ((raw.command === undefined) === (raw.url === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'give exactly one of command (a program) or url (an endpoint)' });
    return z.NEVER;
  }
  const problem = raw.url === undefined ? undefined : urlProblem(raw.url);
  if (problem !== undefined) {
    ctx.addIssue({ code: 'custom', message: problem, path: ['url'] });
    return z.NEVER;
  }
  const name = raw.name ?? defaultName(raw);
  if (raw.command !== undefined) {
    return { kind: 'command', name, argv: [...raw.command], timeoutMs: raw.timeout };
  }
  return { kind: 'http', name, url: raw.url ?? '', timeoutMs: raw.timeout };
});
