/**
 * `airlock policy hook --format claude-code|codex|gemini`: an agent's pre-tool-use hook. Reads the
 * hook's JSON on stdin, judges the tool call with the same engine as a sandboxed session (but with
 * nothing containing the command: `driver: none`), and answers in that agent's hook format.
 *
 * Formats, as each agent documents them:
 * - Claude Code, PreToolUse (https://code.claude.com/docs/en/hooks.md#pretooluse,
 *   https://docs.anthropic.com/en/docs/claude-code/hooks): stdin `{session_id, transcript_path, cwd,
 *   hook_event_name: "PreToolUse", tool_name, tool_input, tool_use_id}`; Bash has
 *   `tool_input.command`, Write/Edit/MultiEdit have `tool_input.file_path`, NotebookEdit
 *   `notebook_path`. Answer on stdout, exit 0: `{"hookSpecificOutput": {"hookEventName": "PreToolUse",
 *   "permissionDecision": "allow"|"deny"|"ask", "permissionDecisionReason": "…"}}`.
 * - Codex, PreToolUse (https://developers.openai.com/codex/hooks): the same stdin shape with a
 *   `turn_id`; shell calls are `Bash` (`tool_input.command`), edits `apply_patch` (the patch text in
 *   `tool_input.command`). The answer uses the same `hookSpecificOutput`, but Codex does not support
 *   `"ask"` (it rejects the answer and runs the call, as openmoat's Codex tests record:
 *   https://docs.rs/crate/openmoat/0.9.0/source/tests/e2e/codex.rs), so an ask is sent as a deny that
 *   says a person must approve it.
 * - Gemini CLI, BeforeTool (https://geminicli.com/docs/hooks/reference, google-gemini/gemini-cli
 *   docs/hooks/reference.md): stdin `{session_id, transcript_path, cwd, hook_event_name: "BeforeTool",
 *   timestamp, tool_name, tool_input}`; tools `run_shell_command` (`command`), `write_file` and
 *   `replace` (`file_path`), `read_file`. The answer is `{"decision": "allow"|"deny", "reason": "…"}`;
 *   there is no ask, so an ask answers with no decision (Gemini's own confirmation then applies) and a
 *   `systemMessage` saying why.
 * Malformed input exits 2 with the reason on stderr: every one of these agents blocks the call then.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import {
  DEFAULT_CAPABILITIES,
  type Decision,
  type DecisionValue,
  type FileAccess,
  type PolicyEngine,
  type SessionCapabilities,
} from '../policy/index.ts';

export const hookFormats = ['claude-code', 'codex', 'gemini'] as const;
export type HookFormat = (typeof hookFormats)[number];

/** Hook input larger than this is refused (a tool call's JSON is a few kilobytes). */
export const MAX_HOOK_INPUT_BYTES = 1024 * 1024;

const payloadSchema = z
  .object({
    cwd: z.string().min(1).optional(),
    hook_event_name: z.string().optional(),
    tool_name: z.string().min(1),
    tool_input: z.record(z.string(), z.unknown()).default({}),
  })
  .passthrough();
export type HookPayload = z.infer<typeof payloadSchema>;

/** What the tool call does, as the policy can judge it. */
type ToolCall =
  | { readonly kind: 'shell'; readonly command: string }
  | { readonly kind: 'files'; readonly access: readonly { access: FileAccess; path: string }[] }
  | { readonly kind: 'other' };

const SHELL_TOOLS = new Set(['Bash', 'bash', 'shell', 'local_shell', 'exec_command', 'run_shell_command']);
const WRITE_TOOLS = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit', 'write_file', 'replace']);
const READ_TOOLS = new Set(['Read', 'read_file']);

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** `*** Add File: p`, `*** Update File: p`, `*** Delete File: p`, `*** Move to: p` in a Codex patch. */
function patchAccess(patch: string): { access: FileAccess; path: string }[] {
  const out: { access: FileAccess; path: string }[] = [];
  for (const match of patch.matchAll(/^\*\*\* (Add File|Update File|Delete File|Move to): (.+)$/gm)) {
    out.push({ access: match[1] === 'Delete File' ? 'delete' : 'write', path: (match[2] ?? '').trim() });
  }
  return out;
}

/** Codex may pass a shell call as argv: `["bash", "-lc", "…"]` is the script; other argv is quoted back. */
function argvCommand(value: unknown): string | null {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) return null;
  const argv = value as string[];
  if (argv.length === 3 && /^-l?c$/.test(argv[1] ?? '')) return argv[2] ?? null;
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export function toolCallOf(payload: HookPayload): ToolCall {
  const input = payload.tool_input;
  if (SHELL_TOOLS.has(payload.tool_name)) {
    const command = text(input['command']) ?? argvCommand(input['command']);
    return command === null ? { kind: 'other' } : { kind: 'shell', command };
  }
  if (payload.tool_name === 'apply_patch') {
    const patch = text(input['command']) ?? text(input['patch']) ?? text(input['input']) ?? '';
    const access = patchAccess(patch);
    return access.length > 0 ? { kind: 'files', access } : { kind: 'other' };
  }
  const path = text(input['file_path']) ?? text(input['notebook_path']) ?? text(input['absolute_path']);
  if (path !== null && WRITE_TOOLS.has(payload.tool_name))
    return { kind: 'files', access: [{ access: 'write', path }] };
  if (path !== null && READ_TOOLS.has(payload.tool_name))
    return { kind: 'files', access: [{ access: 'read', path }] };
  return { kind: 'other' };
}

/**
 * The session a hook judges in: the agent's project directory is the workspace, /tmp is writable,
 * nothing contains the command, and the agent's person can grant the network when asked.
 */
export function hookCapabilities(cwd: string, home: string | undefined): SessionCapabilities {
  return {
    ...DEFAULT_CAPABILITIES,
    driver: 'none',
    network: { ...DEFAULT_CAPABILITIES.network, mode: 'ask' },
    workspace: cwd,
    home: home ?? '/nonexistent-home',
    writableRoots: [cwd, '/tmp'],
  };
}

export interface HookVerdict {
  readonly decision: DecisionValue | null;
  readonly reason: string;
}

export function judgeToolCall(
  engine: PolicyEngine,
  payload: HookPayload,
  cwd: string,
  home?: string,
): HookVerdict {
  const capabilities = hookCapabilities(cwd, home);
  const call = toolCallOf(payload);
  if (call.kind === 'other')
    return { decision: null, reason: `airlock has no rule for ${payload.tool_name}` };
  const decisions: Decision[] =
    call.kind === 'shell'
      ? [engine.evaluate(call.command, { capabilities })]
      : call.access.map(({ access, path }) =>
          engine.evaluateFileAccess(access, isAbsolute(path) ? path : resolve(cwd, path), { capabilities }),
        );
  const rank = { allow: 0, ask: 1, deny: 2 } as const;
  const worst = decisions.reduce((a, b) => (rank[b.decision] > rank[a.decision] ? b : a));
  return { decision: worst.decision, reason: worst.reasons.join(' ') };
}

/** The answer in the agent's own format; `null` when the hook should say nothing. */
export function hookAnswer(format: HookFormat, verdict: HookVerdict): Record<string, unknown> | null {
  const reason = `airlock: ${verdict.reason}`;
  if (format === 'gemini') {
    if (verdict.decision === 'allow') return { decision: 'allow' };
    if (verdict.decision === 'deny') return { decision: 'deny', reason };
    // Gemini hooks cannot ask: leave the decision to Gemini's own confirmation, and say why.
    return verdict.decision === 'ask' ? { systemMessage: `${reason} A person should approve this.` } : {};
  }
  if (verdict.decision === null) return null;
  // Codex does not take "ask" (it would run the call): stop it and say a person must approve it.
  const decision = format === 'codex' && verdict.decision === 'ask' ? 'deny' : verdict.decision;
  const said =
    format === 'codex' && verdict.decision === 'ask'
      ? `${reason} A person must approve this command first; ask the user to run it or to allow it.`
      : reason;
  return {
    hookSpecificOutput: {
      hookEventName: 'PreToolUse',
      permissionDecision: decision,
      permissionDecisionReason: said,
    },
  };
}

export function parseHookPayload(raw: string): { payload: HookPayload } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    return { error: `the hook input is not JSON: ${(error as Error).message}` };
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { error: `the hook input is not a pre-tool-use call: ${issues.join('; ')}` };
  }
  return { payload: parsed.data };
}

/*
 * Security limitations
 * - Without a sandbox nothing contains what an allowed command does; the hook therefore allows only
 *   known programs and asks for code, installs and unknown programs (the policy's `driver: none` rules).
 * - Tools other than shell, file writes and reads are not judged: the hook says nothing and the
 *   agent's own permission rules apply.
 */
