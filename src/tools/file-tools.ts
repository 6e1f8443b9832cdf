/**
 * write_file, read_file and list_files: explicit copies in and out of the session's writable areas
 * (/workspace and /tmp). Paths are checked by the sandbox stage; a refused path is an error result
 * with its code (PATH_OUTSIDE_SANDBOX), never a protocol error.
 */
import { z } from 'zod';
import type { Session } from '../airlock/index.ts';
import { AirlockError, isAirlockError } from '../errors/index.ts';
import { reportApprovalWait } from './approval-progress.ts';
import type { WaitState } from './approval-progress.ts';
import { approvalWaitFor, MAX_PAGE_CHARS, toolLimits } from './command-tools.ts';
import type { ToolRegistrar } from './registrar.ts';
import type { ToolContext } from './tool-context.ts';
import { errorResult, okResult } from './tool-results.ts';

/** read_file's default page, in characters (bytes for base64): a few hundred lines of code. */
const DEFAULT_FILE_PAGE = 20_000;
/**
 * Largest file read_file reads. Every page reads and redacts the whole file on the control plane's
 * event loop (about 20 ms per MiB), so the sandbox's own file limit (tens of MiB) would stall every
 * other session for a second per page; a file this big is already a few hundred thousand tokens, more
 * than a model reads whole. Bigger files are refused before they are read (the sandbox checks the size
 * first) with a pointer to head/sed/grep through run_command.
 */
export const MAX_READ_FILE_BYTES = 1024 * 1024;
/** Entries list_files spells out in text; the structured result has them all. */
const MAX_LISTED_IN_TEXT = 500;
/** A write needing approval has asked for it well within this; the first progress report waits so long. */
const WRITE_APPROVAL_LOOKUP_DELAY_MS = 250;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeContent(content: string, encoding: 'utf8' | 'base64' | undefined): string | Buffer {
  if (encoding !== 'base64') return content;
  const compact = content.replace(/\s+/g, '');
  // Buffer.from skips characters it does not know; a typo would silently write other bytes.
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) {
    throw new AirlockError('INVALID_ARGUMENT', 'content is not valid base64', { field: 'content' });
  }
  return Buffer.from(compact, 'base64');
}

/** End of a text page, moved back so it never splits a surrogate pair. */
function pageEnd(text: string, start: number, limit: number): number {
  const end = Math.min(text.length, start + limit);
  if (end < text.length && end - 1 > start) {
    const code = text.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) return end - 1;
  }
  return end;
}

export function registerFileTools(server: ToolRegistrar, context: ToolContext): void {
  const helpers = fileHelpers(context);
  registerWriteFile(server, context, helpers);
  registerReadFile(server, context, helpers);
  registerListFiles(server, context);
}

type FileHelpers = ReturnType<typeof fileHelpers>;

/** What the file tools share: whether writes wait for a person, and reading within the size bound. */
function fileHelpers(context: ToolContext) {
  const { airlock } = context;
  const everyWriteAsks = airlock.config.router.approvalRequiredFor.includes('write_file');

  /** The write's approval request, once the router has made it (it does not hand the id back early). */
  const pendingWrite = async (session: Session, path: string): Promise<WaitState | null> => {
    const pending = await airlock.approvals.list({ status: 'pending', sessionId: session.id });
    const writes = pending.filter((record) => record.action === 'write_file');
    const match = writes.findLast((record) => record.parsed.includes(path)) ?? writes.at(-1);
    return match === undefined
      ? null
      : { kind: 'approval', approvalId: match.id, expiresAt: match.expiresAt };
  };

  /** The file as read_file shows it (redacted), or the tool result refusing a file too big to read. */
  const readForModel = async (session: Session, path: string) => {
    try {
      return await session.files.read(path, { maxBytes: MAX_READ_FILE_BYTES });
    } catch (error) {
      if (!isAirlockError(error) || error.code !== 'FILE_TOO_LARGE') throw error;
      return errorResult(
        new AirlockError(
          'FILE_TOO_LARGE',
          `${path} is larger than ${MAX_READ_FILE_BYTES} bytes, the most read_file reads`,
          { path, maxBytes: MAX_READ_FILE_BYTES },
        ),
        'Look at parts of it with run_command instead: e.g. `wc -c`, `head -n 200`, ' +
          "`sed -n '1000,1200p'`, `grep -n PATTERN` or `tail -c 20000` on the file.",
      );
    }
  };
  return { everyWriteAsks, pendingWrite, readForModel };
}

function registerWriteFile(server: ToolRegistrar, context: ToolContext, helpers: FileHelpers): void {
  const { guard } = context;
  const { everyWriteAsks, pendingWrite } = helpers;
  const limits = toolLimits(context);
  server.registerTool(
    'write_file',
    {
      title: 'Write a file',
      description:
        'Create or replace a file in the sandbox (relative paths are under /workspace; /tmp also ' +
        'works), creating missing directories. ' +
        (everyWriteAsks
          ? 'A person approves each write first. '
          : 'Judged like a shell write: project files are written at once; build scripts, package ' +
            'manifests, CI workflows and secret files ask a person; agent configuration and git hooks ' +
            'are refused. ') +
        (context.approvalWaitMs === 0
          ? 'A write that asks answers pending_approval at once; it is written by itself once approved.'
          : `A write that asks waits up to approval_wait_s (default ${limits.approvalWaitS} s), then ` +
            'answers pending_approval; it is written by itself once approved.'),
      inputSchema: {
        path: z.string().min(1).describe('e.g. "src/main.py" or "/tmp/data.json"'),
        content: z.string().describe('the whole new content'),
        encoding: z.enum(['utf8', 'base64']).optional().describe('how content is encoded; default utf8'),
        approval_wait_s: z
          .number()
          .min(0)
          .max(limits.approvalMaxS)
          .optional()
          .describe(
            `when a person must approve: seconds to wait before answering pending_approval; default ${limits.approvalWaitS}, at most ${limits.approvalMaxS}`,
          ),
      },
      outputSchema: {
        status: z.enum(['completed', 'denied', 'pending_approval']),
        path: z.string(),
        bytes: z.number().int(),
        approvalId: z.string().optional(),
        reasons: z.array(z.string()),
      },
      annotations: {
        title: 'Write a file',
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    ({ path, content, encoding, approval_wait_s }, extra) =>
      guard(async () => {
        const data = decodeContent(content, encoding);
        const session = await context.sessions.get();
        const approvalWaitMs = approvalWaitFor(context, approval_wait_s);
        // Any write may ask (the policy's path rules): a write still under way after a moment is
        // looked for, unless this surface answers pending_approval at once.
        const stop =
          approvalWaitMs === 0
            ? () => undefined
            : reportApprovalWait(extra, () => pendingWrite(session, path), {
                intervalMs: context.progressIntervalMs,
                now: context.now,
                firstAfterMs: WRITE_APPROVAL_LOOKUP_DELAY_MS,
              });
        let written;
        try {
          written = await session.files.write(path, data, {
            signal: extra.signal,
            ...(approvalWaitMs === undefined ? {} : { approvalWaitMs }),
          });
        } finally {
          stop();
        }
        const text =
          written.approvalId !== null && written.status === 'completed'
            ? `a person approved it (approval ${written.approvalId}); ${written.forModel}`
            : written.forModel;
        return okResult(text, {
          status: written.status,
          path: written.path,
          bytes: written.bytes,
          approvalId: written.approvalId,
          reasons: [...written.reasons],
        });
      }),
  );
}

function registerReadFile(server: ToolRegistrar, context: ToolContext, helpers: FileHelpers): void {
  const { guard } = context;
  const { readForModel } = helpers;
  server.registerTool(
    'read_file',
    {
      title: 'Read a file',
      description:
        'Read a file from the sandbox (relative paths are under /workspace), a page at a time: ' +
        'offset and limit count characters (bytes with encoding base64). Binary files need base64. ' +
        'Secret values in it are shown redacted. Files over ' +
        `${MAX_READ_FILE_BYTES / (1024 * 1024)} MiB are refused: look at them with run_command (head, sed -n, grep).`,
      inputSchema: {
        path: z.string().min(1),
        offset: z.number().int().min(0).optional().describe('first character; default 0'),
        limit: z
          .number()
          .int()
          .min(1)
          .max(MAX_PAGE_CHARS)
          .optional()
          .describe(`default ${DEFAULT_FILE_PAGE}`),
        encoding: z.enum(['utf8', 'base64']).optional().describe('default utf8'),
      },
      outputSchema: {
        path: z.string(),
        encoding: z.enum(['utf8', 'base64']),
        redactedSizeBytes: z
          .number()
          .int()
          .describe(
            'bytes of the file as read_file shows it: secret values replaced by [REDACTED:…], so a ' +
              'file holding one differs from its size on disk (list_files has that)',
          ),
        binary: z.boolean().describe('not UTF-8 text, so not shown: read it with encoding base64'),
        content: z.string().describe('this page: text, or base64 with encoding base64'),
        offset: z.number().int(),
        total: z
          .number()
          .int()
          .describe('characters (bytes with base64) in the whole file as shown, after redaction'),
        nextOffset: z.number().int().optional().describe('where the next page starts; absent at the end'),
      },
      annotations: { title: 'Read a file', readOnlyHint: true, openWorldHint: false },
    },
    ({ path, offset = 0, limit = DEFAULT_FILE_PAGE, encoding = 'utf8' }) =>
      guard(async () => {
        const session = await context.sessions.get();
        const data = await readForModel(session, path);
        if (!Buffer.isBuffer(data)) return data;
        const facts = { path, encoding, redactedSizeBytes: data.length };
        if (encoding === 'base64') {
          const start = Math.min(offset, data.length);
          const end = Math.min(data.length, start + limit);
          const nextOffset = end < data.length ? end : null;
          const page = data.subarray(start, end).toString('base64');
          const note = `[bytes ${start}–${end} of ${data.length}${nextOffset === null ? '' : `; next: read_file {"path": ${JSON.stringify(path)}, "encoding": "base64", "offset": ${nextOffset}}`}]`;
          return okResult([page, note], {
            ...facts,
            binary: false,
            content: page,
            offset: start,
            total: data.length,
            nextOffset,
          });
        }
        let text: string;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(data);
        } catch {
          return okResult(
            `${path} is binary (${data.length} bytes), not shown as text: read it with encoding "base64", ` +
              'or look at it with run_command (file, xxd | head).',
            { ...facts, binary: true, content: '', offset: 0, total: data.length, nextOffset: null },
          );
        }
        const start = Math.min(offset, text.length);
        const end = pageEnd(text, start, limit);
        const nextOffset = end < text.length ? end : null;
        const content = text.slice(start, end);
        const parts = [content];
        if (start > 0 || nextOffset !== null) {
          parts.push(
            `[characters ${start}–${end} of ${text.length}${nextOffset === null ? '' : `; next: read_file {"path": ${JSON.stringify(path)}, "offset": ${nextOffset}}`}]`,
          );
        }
        return okResult(parts, {
          ...facts,
          binary: false,
          content,
          offset: start,
          total: text.length,
          nextOffset,
        });
      }),
  );
}

function registerListFiles(server: ToolRegistrar, context: ToolContext): void {
  const { guard } = context;
  server.registerTool(
    'list_files',
    {
      title: 'List files',
      description: 'List a directory of the sandbox (default /workspace).',
      inputSchema: { path: z.string().min(1).optional().describe('default /workspace') },
      outputSchema: {
        path: z.string(),
        entries: z.array(
          z.object({
            name: z.string(),
            kind: z.enum(['file', 'directory', 'symlink', 'other']),
            sizeBytes: z.number(),
            modifiedMs: z.number(),
          }),
        ),
      },
      annotations: { title: 'List files', readOnlyHint: true, openWorldHint: false },
    },
    ({ path = '/workspace' }) =>
      guard(async () => {
        const session = await context.sessions.get();
        const entries = await session.files.list(path);
        const lines = entries
          .slice(0, MAX_LISTED_IN_TEXT)
          .map((entry) =>
            entry.kind === 'directory'
              ? `${entry.name}/`
              : `${entry.name}${entry.kind === 'symlink' ? ' (symlink)' : ''}  ${entry.sizeBytes} bytes`,
          );
        if (entries.length > MAX_LISTED_IN_TEXT) {
          lines.push(`… and ${entries.length - MAX_LISTED_IN_TEXT} more; list a subdirectory`);
        }
        const text = entries.length === 0 ? `${path} is empty` : `${path}:\n${lines.join('\n')}`;
        return okResult(text, { path, entries: entries.map((entry) => ({ ...entry })) });
      }),
  );
}

/*
 * Security limitations:
 * - read_file shows a file redacted as `cat` through run_command would show it (the session's
 *   `files.read` redacts it with the session's redactor): only what that redactor recognises is
 *   hidden, and pages, base64 ones too, are cut from the redacted file.
 * - Files over MAX_READ_FILE_BYTES are refused, not paged: their contents reach the model only
 *   through run_command, whose output is redacted and bounded the same way.
 */
