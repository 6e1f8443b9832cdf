/**
 * Request URLs from a base URL, path segments and a query. Every segment is percent-encoded on its own,
 * so an id can never add a path level or a query.
 */
import { invalidArgument } from './errors.ts';

export type QueryValue = string | number | boolean | readonly string[] | undefined;
export type Query = Readonly<Record<string, QueryValue>>;

/**
 * The base URL without a trailing slash, checked once when a client is made. A base path
 * (`https://host/airlock`) is kept: the API lives below it.
 */
export function normalizeBaseUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch (cause) {
    throw invalidArgument(`url is not an absolute URL: ${String(url)}`, { url: String(url), cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalidArgument(`url must be http: or https:, got ${parsed.protocol}`, { url: String(url) });
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw invalidArgument('url must not carry a query or fragment', { url: String(url) });
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

/**
 * One path segment. Empty, `.` and `..` are refused: URL parsing would collapse them (WHATWG URL also
 * treats `%2e%2e` as `..`), so `sessions/..` would reach another route than the caller named. A colon
 * is left as it is: a path segment may hold one (RFC 3986 `pchar`), and method-style routes
 * (`commands:check`) are matched on it, not on `%3A`.
 */
export function encodeSegment(segment: string): string {
  if (segment === '' || segment === '.' || segment === '..') {
    throw invalidArgument(`an id or path segment cannot be ${JSON.stringify(segment)}`, { segment });
  }
  return encodeURIComponent(segment).replaceAll('%3A', ':');
}

/** `base` + `/seg1/seg2` + `?k=v`; undefined values are left out, arrays are joined with commas. */
export function buildUrl(base: string, segments: readonly string[], query: Query = {}): string {
  const path = segments.map(encodeSegment).join('/');
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    params.append(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  const search = params.toString();
  return `${base}/${path}${search === '' ? '' : `?${search}`}`;
}

/**
 * `GET /v1/sessions/ses_1`: a call as errors name it, each segment encoded as in the URL sent, so an id
 * with `/`, a newline or a control character reads as one segment and cannot forge message text.
 */
export function describeRequest(method: string, segments: readonly string[]): string {
  return `${method} /${segments.map((segment) => encodeURIComponent(segment)).join('/')}`;
}

/**
 * The origin a clustered server names as the node that runs a session (its NODE_URL_HEADER), when a
 * client configured with `base` may send that session's requests there; undefined otherwise.
 *
 * Why following it is safe: the value comes from an answer of the server the client already sends
 * its token to (at the configured URL, or passed on from the node that runs the session, which holds
 * the same token anyway: forwarded requests carry it there). Still, only an origin is taken (no user,
 * path, query or fragment), of the same scheme as the configured URL (an https client never falls
 * back to http), and not from a configured URL with a path, which is a proxy's mount point that the
 * client was meant to go through.
 */
export function followableNodeUrl(base: string, advertised: string | null): string | undefined {
  if (advertised === null || advertised.length > 2048) return undefined;
  let configured: URL;
  let node: URL;
  try {
    configured = new URL(base);
    node = new URL(advertised);
  } catch {
    return undefined;
  }
  if (configured.pathname !== '/' || node.protocol !== configured.protocol) return undefined;
  if (node.username !== '' || node.password !== '' || node.search !== '' || node.hash !== '')
    return undefined;
  if (node.pathname !== '/' && node.pathname !== '') return undefined;
  return node.origin;
}
