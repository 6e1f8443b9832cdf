/**
 * Chain verification, said plainly: whether the log is intact, how far the signed checkpoints reach,
 * and, when it is not intact, the first event that fails and why.
 */
import { useEffect, useState } from 'preact/hooks';
import type { VerifyResult } from '../../../src/sdk/index.ts';
import { useApp } from '../state/context.ts';
import { messageOf } from '../state/resource.ts';

const PROBLEMS: Readonly<Record<string, string>> = {
  'hash-mismatch': 'an event was changed after it was written',
  'chain-broken': 'an event does not link to the one before it',
  gap: 'events are missing',
  unreadable: 'an event cannot be read',
  'bad-signature': 'a signed checkpoint does not verify',
  'untrusted-key': 'a checkpoint was signed with a key this server does not trust',
  'checkpoint-mismatch': 'the chain was rebuilt: it no longer matches a signed checkpoint',
  'checkpoint-beyond-head': 'events a signed checkpoint covers were deleted',
  'witness-mismatch': 'the witness copy outside the store disagrees with the store',
};

function Intact({ result }: { readonly result: Extract<VerifyResult, { ok: true }> }) {
  const { checkpoints, anchor, witness } = result;
  return (
    <>
      <p class="verify__headline">
        <span aria-hidden="true">✓ </span>The audit log is intact: {result.checked.toLocaleString()} events
        checked.
      </p>
      <ul class="verify__facts">
        <li>
          {checkpoints.verified === 0
            ? 'No signed checkpoint yet: the hash chain alone protects it.'
            : `${checkpoints.verified} signed checkpoint${checkpoints.verified === 1 ? '' : 's'} up to event #${checkpoints.lastSeq}${checkpoints.signaturesChecked ? ', signatures checked' : ' (signatures not checked: no key)'}; ${checkpoints.unsignedEvents} newer event${checkpoints.unsignedEvents === 1 ? '' : 's'} covered by the hash chain only.`}
        </li>
        <li>{anchor === null ? 'No anchor file.' : `Anchor outside the store at event #${anchor.seq}.`}</li>
        {witness === null ? null : (
          <li>
            Witness agrees up to event #{witness.lastSeq}
            {witness.unwitnessedEvents > 0 ? `; ${witness.unwitnessedEvents} events not yet witnessed` : ''}.
          </li>
        )}
        <li class="mono verify__hash">Last hash {result.lastHash}</li>
      </ul>
    </>
  );
}

export function VerifyPanel() {
  const { client } = useApp();
  const [state, setState] = useState<{ result: VerifyResult | null; error: string | null; busy: boolean }>({
    result: null,
    error: null,
    busy: true,
  });
  const verify = (): void => {
    setState((current) => ({ ...current, busy: true }));
    client.audit
      .verify({ timeoutMs: 120_000 })
      .then((result) => setState({ result, error: null, busy: false }))
      .catch((error: unknown) => setState({ result: null, error: messageOf(error), busy: false }));
  };
  useEffect(verify, [client]);
  const { result } = state;
  const tone = result === null ? 'pending' : result.ok ? 'ok' : 'bad';
  return (
    <section
      class={`verify verify--${tone}`}
      aria-labelledby="verify-title"
      aria-live="polite"
      aria-busy={state.busy}
    >
      <h2 id="verify-title" class="visually-hidden">
        Chain verification
      </h2>
      {state.busy && result === null ? <p class="verify__headline">Verifying the chain…</p> : null}
      {state.error === null ? null : <p class="error">Verification could not run: {state.error}</p>}
      {result === null ? null : result.ok ? (
        <Intact result={result} />
      ) : (
        <p class="verify__headline">
          <span aria-hidden="true">✗ </span>The audit log does not verify at event #{result.seq}:{' '}
          {PROBLEMS[result.problem] ?? result.problem}. {result.message} ({result.checked.toLocaleString()}{' '}
          events checked before it.)
        </p>
      )}
      <button type="button" class="button" disabled={state.busy} onClick={verify}>
        {state.busy ? 'Verifying…' : 'Verify again'}
      </button>
    </section>
  );
}
