/**
 * Sign-in: the token is typed (or pasted) here and sent once, in a request body, for a session cookie
 * the page never reads. It is never put in a URL or kept by the page.
 */
import { useState } from 'preact/hooks';
import type { AirlockClient, SignedIn } from '../../../src/sdk/index.ts';
import { messageOf } from '../state/resource.ts';

export function SignInView({
  client,
  onSignedIn,
}: {
  readonly client: AirlockClient;
  readonly onSignedIn: (me: SignedIn) => void;
}) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await client.auth.signIn(token.trim());
      setToken('');
      onSignedIn(me);
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in" id="main">
      <form class="sign-in__card" onSubmit={(event) => void submit(event)}>
        <h1 class="sign-in__title">
          <span class="logo" aria-hidden="true" /> Airlock
        </h1>
        <p class="muted">Watch what agents run, and decide what they may do.</p>
        <label class="field">
          <span class="field__label">Token</span>
          <input
            type="password"
            autoComplete="off"
            spellcheck={false}
            required
            value={token}
            onInput={(event) => setToken((event.target as HTMLInputElement).value)}
            aria-describedby="token-help"
          />
        </label>
        <p id="token-help" class="field__help">
          The admin token (<code>$AIRLOCK_HOME/admin-token</code>), or a viewer or approver token from{' '}
          <code>airlock tokens create</code>.
        </p>
        {error === null ? null : (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button class="button button--primary" type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
