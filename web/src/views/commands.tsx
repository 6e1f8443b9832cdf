/** Every session's commands as they happen. */
import { CommandList } from './command-list.tsx';

export function CommandsView(_props: { readonly id: string | null }) {
  return (
    <section aria-labelledby="commands-title">
      <div class="view-head">
        <h1 id="commands-title">Commands</h1>
        <p class="muted">Every session, newest first; running commands stream their (redacted) output.</p>
      </div>
      <CommandList />
    </section>
  );
}
