/**
 * The dashboard's one way to the server: the SDK, on this page's origin, with the browser's session
 * cookie (sent by the browser, never seen by script) and the CSRF token added to every change.
 */
import { AirlockClient } from '../../../src/sdk/index.ts';
import type { FetchFunction } from '../../../src/sdk/index.ts';

export const CSRF_HEADER = 'x-airlock-csrf';

export interface Api {
  readonly client: AirlockClient;
  /** Set after signing in (null when signed out): sent with every request that changes something. */
  setCsrfToken(token: string | null): void;
}

const SAFE = new Set(['GET', 'HEAD']);

/**
 * `onSignedOut` runs when the server answers 401 to a signed-in page: the sign-in expired, was signed
 * out elsewhere, or its token was revoked. The page goes back to the sign-in form.
 */
export function createApi(onSignedOut: () => void, origin: string = window.location.origin): Api {
  let csrfToken: string | null = null;
  const fetchWithCsrf: FetchFunction = (input, init) => {
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers);
    if (!SAFE.has(method) && csrfToken !== null) headers.set(CSRF_HEADER, csrfToken);
    // Same origin only: the cookie never goes anywhere else, and the server sends no CORS headers.
    return window.fetch(input, { ...init, headers, credentials: 'same-origin' }).then((response) => {
      if (response.status === 401 && csrfToken !== null) onSignedOut();
      return response;
    });
  };
  return {
    client: new AirlockClient({ url: origin, fetch: fetchWithCsrf, defaultTimeoutMs: 30_000 }),
    setCsrfToken: (token) => {
      csrfToken = token;
    },
  };
}
