/**
 * The Airlock TypeScript SDK: a client for the HTTP API v1 that depends on `fetch` only.
 *
 *   const client = new AirlockClient({ url: 'http://127.0.0.1:7400', token });
 *   const session = await client.sessions.create({ policy: 'coding-agent' });
 *   const result = await session.run('npm test', { timeoutMs: 60_000 });
 *   const handle = await session.start('npm run build');
 *   for await (const event of handle) if (event.type === 'output') show(event.text);
 *
 * Every call takes an options object last with `signal` and `timeoutMs`. Where the server itself
 * enforces a time limit (a command, a session's default per command) `timeoutMs` is that limit, as
 * in E2B, and `requestTimeoutMs` bounds the call. Failures are `AirlockApiError`s with a stable `code`;
 * a denial, a timeout or a non-zero exit is a result with a `status`, not an error.
 */
export { AirlockClient } from './client.ts';
export type { AirlockClientOptions } from './client.ts';
export type { FetchFunction } from './transport.ts';
export type { CallOptions } from './signals.ts';

export { Sessions } from './sessions.ts';
export type { ConnectOptions, CreateSessionOptions, ListSessionsOptions } from './sessions.ts';
export { SandboxSession, SessionCommands, SessionFiles } from './session.ts';
export type { FileWriteOptions, RunOptions, StartOptions } from './session.ts';
export { MAX_STDIN_BYTES } from './run-options.ts';
export type { StdinSource } from './run-options.ts';
export type {
  ArchiveDownload,
  ArchiveDownloadStream,
  ArchiveSource,
  ArchiveUploadResult,
  ChangesOptions,
  DownloadOptions,
  LeftOutEntry,
  WorkspaceChanges,
} from './archives.ts';
export type { ByteSource } from './body-stream.ts';
export type { FileChangeResult, FileStat, WriteManyEntry } from './file-changes.ts';
export { CommandHandle, isFinished } from './command-handle.ts';
export { MAX_PTY_MESSAGE_BYTES, PtyConnection, SessionPty } from './pty.ts';
export type {
  PtyConnectOptions,
  PtyCreateOptions,
  PtyExit,
  WebSocketConstructor,
  WebSocketLike,
} from './pty.ts';
export type { CommandEvent } from './command-handle.ts';
export { Outputs } from './outputs.ts';
export type { OutputPagesOptions, OutputReadOptions } from './outputs.ts';
export { Approvals } from './approvals.ts';
export type { ApproveOptions, DenyOptions, ListApprovalsOptions } from './approvals.ts';
export { Audit } from './audit.ts';
export { Egress } from './egress.ts';
export type { EgressRefusalCode, EgressTarget, SessionEgress } from './egress.ts';
export { Auth, Commands, Tokens } from './watch.ts';
export type { CreateTokenOptions, ListCommandsOptions } from './watch.ts';
export type {
  AccessTokenInfo,
  ApprovalContext,
  CommandPage,
  CommandRecord,
  CommandState,
  CreatedAccessToken,
  EffectVerdict,
  PersonRole,
  SessionUsage,
  SignedIn,
  UsageSample,
} from './watch-types.ts';
export type { AuditFilter, ExportAuditOptions, ListAuditOptions } from './audit.ts';
export { commandFacts, runIdOf, runsOf, threadOf } from './agent-thread.ts';
export type { CommandFacts, RunHead, ThreadItem } from './agent-thread.ts';

export { AirlockApiError, clientErrorCodes, isAirlockApiError, serverErrorCodes } from './errors.ts';
export type { AirlockErrorCode, ClientErrorCode, ServerErrorCode } from './errors.ts';

export { MAX_LINE_CHARS } from './lines.ts';
export type { LineLimits } from './lines.ts';
export { MAX_EVENT_DATA_CHARS, readSseEvents, SseParser } from './sse.ts';
export type { SseEvent } from './sse.ts';

export type {
  ApprovalGrant,
  ApprovalRecord,
  ApprovalStatus,
  AuditEvent,
  CheckResult,
  CheckpointSummary,
  CreatedSession,
  CreateSessionRequest,
  DecideApprovalRequest,
  DecisionValue,
  DriverName,
  ErrorEnvelope,
  FileEntry,
  FileWriteResult,
  GrantScope,
  HealthStatus,
  NetworkMode,
  NetworkRequest,
  OutputEventData,
  OutputPage,
  OutputStream,
  PolicyPreset,
  RunCommandRequest,
  RunResult,
  RunStatus,
  SessionBoundary,
  SecretRequest,
  SessionInfo,
  SessionState,
  VerifyProblem,
  VerifyResult,
} from './wire-types.ts';
