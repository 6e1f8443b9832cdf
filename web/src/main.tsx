/**
 * The dashboard's entry: asks who is signed in (the cookie, if any), then shows the sign-in form or
 * the dashboard. The page keeps no token: only the CSRF token of this browser's sign-in, in memory.
 */
import { render } from 'preact';
import { useMemo, useState, useEffect } from 'preact/hooks';
import type { SignedIn } from '../../src/sdk/index.ts';
import { SignedInApp } from './app.tsx';
import { createApi } from './state/api.ts';
import { applyTheme, storedTheme } from './theme.ts';
import { SignInView } from './views/sign-in.tsx';
import './styles.css';

function Root() {
  const [me, setMe] = useState<SignedIn | null | undefined>(undefined);
  const api = useMemo(() => createApi(() => setMe(null)), []);
  const signedIn = (who: SignedIn): void => {
    api.setCsrfToken(who.csrfToken);
    setMe(who);
  };
  useEffect(() => {
    api.client.auth
      .current()
      .then(signedIn)
      .catch(() => setMe(null));
  }, [api]);
  useEffect(() => {
    if (me === null) api.setCsrfToken(null);
  }, [api, me]);

  if (me === undefined) return <p class="loading">Loading…</p>;
  if (me === null) return <SignInView client={api.client} onSignedIn={signedIn} />;
  const signOut = (): void => {
    void api.client.auth
      .signOut()
      .catch(() => undefined)
      .finally(() => setMe(null));
  };
  return <SignedInApp client={api.client} me={me} onSignOut={signOut} />;
}

applyTheme(storedTheme());
const root = document.getElementById('app');
if (root !== null) render(<Root />, root);
