/** Keyboard shortcuts: `g` then a letter to change view, `?` for this list; views add their own. */
import { useEffect, useRef } from 'preact/hooks';
import { typingInField } from '../keys.ts';
import { navigate } from '../route.ts';
import { tabs } from '../tabs.tsx';

export function useShortcuts({ openHelp }: { readonly openHelp: () => void }): void {
  useEffect(() => {
    let leader = false;
    let leaderTimer: ReturnType<typeof setTimeout> | null = null;
    const onKey = (event: KeyboardEvent): void => {
      if (event.ctrlKey || event.metaKey || event.altKey || typingInField(event)) return;
      if (leader) {
        leader = false;
        const tab = tabs.find((candidate) => candidate.key === event.key);
        if (tab !== undefined) {
          event.preventDefault();
          navigate(tab.id);
        }
        return;
      }
      if (event.key === 'g') {
        leader = true;
        if (leaderTimer !== null) clearTimeout(leaderTimer);
        leaderTimer = setTimeout(() => (leader = false), 1500);
      } else if (event.key === '?') {
        event.preventDefault();
        openHelp();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [openHelp]);
}

const VIEW_KEYS: readonly [string, string][] = [
  ['j / k', 'next / previous request (Approvals)'],
  ['a', 'approve the selected request'],
  ['d', 'deny the selected request'],
  ['r', 'write a reason'],
  ['/', 'search (Commands, Audit)'],
];

export function Shortcuts({ onClose }: { readonly onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  return (
    <dialog class="dialog" ref={dialog} onClose={onClose} aria-labelledby="shortcuts-title">
      <h2 id="shortcuts-title">Keyboard shortcuts</h2>
      <dl class="keys">
        {tabs.map((tab) => (
          <div key={tab.id}>
            <dt>
              <kbd>g</kbd> <kbd>{tab.key}</kbd>
            </dt>
            <dd>{tab.label}</dd>
          </div>
        ))}
        {VIEW_KEYS.map(([keys, what]) => (
          <div key={keys}>
            <dt>
              {keys.split(' / ').map((key, index) => (
                <span key={key}>
                  {index > 0 ? ' / ' : ''}
                  <kbd>{key}</kbd>
                </span>
              ))}
            </dt>
            <dd>{what}</dd>
          </div>
        ))}
        <div>
          <dt>
            <kbd>?</kbd>
          </dt>
          <dd>this list</dd>
        </div>
      </dl>
      <form method="dialog">
        <button class="button" type="submit">
          Close
        </button>
      </form>
    </dialog>
  );
}
