/**
 * Keeping the conversation within what one model call may take. Tokens are estimated from characters
 * (about four to a token for English text and code; an estimate that runs high is the safe side).
 * Past the budget, the oldest tool results are replaced by a note saying how to get them again
 * (read_output, read_file, or run the command again), the newest kept whole, so the model never loses
 * the thread and its context never grows with every page it reads.
 */
import type { ConversationMessage, ToolMessage } from './conversation.ts';

/** Characters per token in the estimate. */
export const CHARS_PER_TOKEN = 4;
/** Tool results kept whole however tight the budget: the model must see what it just asked for. */
export const KEEP_NEWEST_RESULTS = 2;
/** Below this share of the budget eliding stops, so it is not needed again at the very next step. */
const ELIDE_TARGET = 0.7;

export function estimateTokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

function messageChars(message: ConversationMessage): number {
  switch (message.role) {
    case 'user':
      return message.text.length;
    case 'assistant':
      return (
        message.text.length +
        message.toolCalls.reduce((sum, call) => sum + call.name.length + call.arguments.length + 16, 0)
      );
    case 'tool':
      return message.text.length + 16;
  }
}

export function conversationTokens(fixedChars: number, messages: readonly ConversationMessage[]): number {
  return estimateTokens(fixedChars + messages.reduce((sum, message) => sum + messageChars(message), 0));
}

function elisionNote(message: ToolMessage): string {
  const again = message.recall ?? 'call the tool again if you need it';
  return `[${message.name} result of ${message.text.length} characters elided to keep the context small; ${again}]`;
}

export interface ElisionResult {
  readonly elided: number;
  readonly before: number;
  readonly after: number;
}

/**
 * Elides the oldest tool results while the estimate is over `budgetTokens`, in place. `fixedChars`
 * counts what every call carries besides the messages (system prompt, tool definitions).
 */
export function protectContext(
  fixedChars: number,
  messages: ConversationMessage[],
  budgetTokens: number,
): ElisionResult {
  const before = conversationTokens(fixedChars, messages);
  if (before <= budgetTokens) return { elided: 0, before, after: before };
  const target = Math.floor(budgetTokens * ELIDE_TARGET);
  const results = messages.filter((message): message is ToolMessage => message.role === 'tool');
  const candidates = results.slice(0, Math.max(0, results.length - KEEP_NEWEST_RESULTS));
  let current = before;
  let elided = 0;
  for (const message of candidates) {
    if (current <= target) break;
    if (message.elided) continue;
    const note = elisionNote(message);
    if (note.length >= message.text.length) continue;
    current -= estimateTokens(message.text.length) - estimateTokens(note.length);
    message.text = note;
    message.elided = true;
    elided += 1;
  }
  return { elided, before, after: conversationTokens(fixedChars, messages) };
}

/**
 * One tool result cut to `maxChars` (head and tail, which keeps a page's "next page" pointer) with a
 * note saying how much was left out and how to ask for less.
 */
export function shapeToolText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const note =
    `\n[… ${text.length - maxChars} of ${text.length} characters left out here: more than one result may ` +
    `take in this conversation (${maxChars}). Ask for less at a time, e.g. read_output or read_file with ` +
    `limit ${Math.floor(maxChars / 2)}, or filter it with run_command (grep, head, sed -n).]\n`;
  const room = Math.max(0, maxChars - note.length);
  const head = codePointBoundary(text, Math.ceil(room * 0.6));
  const tailStart = codePointBoundary(text, text.length - (room - Math.ceil(room * 0.6)));
  return `${text.slice(0, head)}${note}${tailStart < text.length ? text.slice(tailStart) : ''}`;
}

/** `index`, moved back by one when it would split a surrogate pair. */
function codePointBoundary(text: string, index: number): number {
  if (index <= 0 || index >= text.length) return index;
  const code = text.charCodeAt(index - 1);
  return code >= 0xd800 && code <= 0xdbff ? index - 1 : index;
}
