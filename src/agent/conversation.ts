/**
 * The conversation in a provider-neutral form. Providers translate it to their wire format on every
 * call; the context budget edits it (eliding old tool results) between calls.
 */

export interface ToolCallRequest {
  /** The provider's id for the call, echoed back with its result. */
  readonly id: string;
  readonly name: string;
  /** JSON text of the arguments, as the model wrote it (possibly malformed: the tool box says so). */
  readonly arguments: string;
}

export type ConversationMessage =
  | { readonly role: 'user'; readonly text: string }
  | {
      readonly role: 'assistant';
      readonly text: string;
      readonly toolCalls: readonly ToolCallRequest[];
    }
  | {
      readonly role: 'tool';
      readonly callId: string;
      readonly name: string;
      text: string;
      readonly isError: boolean;
      /** Already replaced by a note: never elided twice. */
      elided: boolean;
      /** Where its content can be had again, for the note that replaces it. */
      readonly recall: string | null;
    };

export type ToolMessage = Extract<ConversationMessage, { role: 'tool' }>;
