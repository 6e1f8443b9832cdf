/**
 * Where the page is: `#/sessions`, `#/sessions/ses_…`, `#/approvals/apr_…`. The hash keeps routing in
 * the page (the server serves one file) and never carries a token: the sign-in is a cookie.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  readonly tab: string;
  readonly id: string | null;
}

export function parseRoute(hash: string): Route {
  const [tab = '', id] = hash.replace(/^#\/?/, '').split('/');
  return {
    tab: tab === '' ? 'sessions' : decodeURIComponent(tab),
    id: id === undefined || id === '' ? null : decodeURIComponent(id),
  };
}

export function href(tab: string, id?: string | null): string {
  return `#/${encodeURIComponent(tab)}${id === undefined || id === null ? '' : `/${encodeURIComponent(id)}`}`;
}

export function navigate(tab: string, id?: string | null): void {
  window.location.hash = href(tab, id);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const changed = (): void => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}
