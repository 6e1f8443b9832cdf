/**
 * The persistence port. The router and sessions know only this interface; the SQLite adapter is the
 * embedded default and a server database can implement the same port later. Every write goes through
 * `commit`, one transaction per call, so a state change and the audit event that records it are stored
 * together or not at all.
 */
import type { KeyObject } from 'node:crypto';

export const auditEventTypes = [
  'session.created',
  'session.destroyed',
  'session.extended',
  'snapshot.created',
  'command.proposed',
  'command.decided',
  'command.input',
  /** A dry run (check_command): the decision a command would get; nothing ran, no command recorded. */
  'policy.checked',
  'approval.requested',
  'approval.decided',
  'rate.limited',
  'execution.started',
  'execution.finished',
  'execution.interrupted',
  'output.stored',
  'file.written',
  /** A file copy the policy refused (path, size, rules and reasons; never the content). */
  'file.refused',
  'file.read',
  'file.listed',
  'file.archive_written',
  'file.archive_read',
  'file.removed',
  'file.renamed',
  'file.dir_created',
  'resource.alert',
  'recovery.completed',
  /** One connection through the egress proxy: host, port, decision, bytes each way, duration. */
  'egress.connection',
  /** A person allowed a host for the rest of a session (data: host, port, decidedBy). */
  'egress.granted',
  /** A person withdrew such a grant. */
  'egress.grant_revoked',
  /** A live session's network list changed (PATCH /v1/sessions/:id/network). */
  'session.network_changed',
  'token.created',
  'token.revoked',
  'dashboard.signed_in',
  'agent.started',
  'agent.model_call',
  'agent.step',
  'agent.finished',
] as const;

export type AuditEventType = (typeof auditEventTypes)[number];

/** JSON-safe data: what is hashed must serialize the same way every time. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface AuditEventInput {
  readonly type: AuditEventType;
  readonly sessionId: string | null;
  readonly commandId: string | null;
  /** Already redacted: the store never sees a secret or a full output. */
  readonly data: JsonObject;
}

export interface AuditEvent extends AuditEventInput {
  /** 1, 2, 3… per store, without gaps. */
  readonly seq: number;
  /** ISO 8601 UTC, from the store's clock. */
  readonly at: string;
  /** Hash of the previous event ('' for the first). */
  readonly prevHash: string;
  /** sha256 hex over prevHash and the canonical JSON of seq, at, type, sessionId, commandId, data. */
  readonly hash: string;
}

export type SessionState = 'active' | 'ended';

export interface SessionRecord {
  readonly id: string;
  readonly state: SessionState;
  readonly driver: string;
  readonly sandboxId: string | null;
  /** The spec the session was created with (limits, policy name, ttl…), as JSON. */
  readonly spec: JsonObject;
  /** The control plane that runs the session's sandbox: a crashed owner means the session is over. */
  readonly owner: string;
  readonly createdAt: string;
  readonly lastActiveAt: string;
  /** Absolute end of the session's lifetime; null when it has none. */
  readonly expiresAt: string | null;
  readonly endedAt: string | null;
  readonly endReason: string | null;
}

export const commandStates = [
  'proposed',
  'pending_approval',
  'denied',
  'rate_limited',
  'running',
  'completed',
  'timed_out',
  'failed',
  'killed',
  'interrupted',
] as const;

export type CommandState = (typeof commandStates)[number];

export interface CommandRecord {
  readonly id: string;
  readonly sessionId: string;
  /** Redacted command text. */
  readonly command: string;
  readonly state: CommandState;
  readonly background: boolean;
  readonly decision: 'allow' | 'ask' | 'deny' | null;
  readonly reasons: readonly string[];
  readonly approvalId: string | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly outputId: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly durationMs: number | null;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

/**
 * What a person may approve for the rest of the session instead of once: this exact command (or write),
 * this program, or a network host.
 */
export const grantScopes = ['command', 'program', 'host'] as const;
export type GrantScope = (typeof grantScopes)[number];

/** One "remember" a request offers, with what it would cover; shown to the person before they choose. */
export interface ApprovalGrant {
  readonly scope: GrantScope;
  /** Parsed commands (`write_file <path>` for a write), program names or host names. */
  readonly covers: readonly string[];
}

export interface ApprovalRecord {
  readonly id: string;
  readonly sessionId: string;
  readonly commandId: string | null;
  /**
   * `command` for a shell command, `write_file` for a file write, `egress` for a connection to a host
   * off the session's allow-list (subject `host:port`, parsed: the command that made it, if known).
   */
  readonly action: 'command' | 'write_file' | 'egress';
  /** What a person reads: the command or path, control characters escaped. */
  readonly subject: string;
  /** The parsed commands (quote-removed, escaped), one per entry. */
  readonly parsed: readonly string[];
  readonly reasons: readonly string[];
  readonly status: ApprovalStatus;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly decidedAt: string | null;
  readonly decidedBy: string | null;
  readonly decisionReason: string | null;
  /** Approved with "remember for this session" (`scope` says what was remembered). */
  readonly remember: boolean;
  /** What "remember" may cover, offered with the request; empty when nothing can be remembered. */
  readonly grants: readonly ApprovalGrant[];
  /** The grant the person chose; null when approved once, denied, expired or pending. */
  readonly scope: GrantScope | null;
}

export interface OutputRecord {
  readonly id: string;
  readonly sessionId: string;
  readonly commandId: string;
  /** Redacted, at most the stored bound; totals say how much the command produced. */
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutTotalBytes: number;
  readonly stderrTotalBytes: number;
  readonly createdAt: string;
}

export interface OutputPage {
  readonly id: string;
  /** Whose output this is: surfaces check it before showing a page to a session-scoped caller. */
  readonly sessionId: string;
  readonly commandId: string;
  readonly stream: 'stdout' | 'stderr';
  /** In characters (UTF-16 code units are never split across a surrogate pair). */
  readonly offset: number;
  readonly text: string;
  /** Characters stored for this stream. */
  readonly totalChars: number;
  /** Offset of the next page, or null at the end. */
  readonly nextOffset: number | null;
}

/** One transaction: every part is written, or none is. */
export interface StoreBatch {
  readonly events?: readonly AuditEventInput[];
  readonly sessions?: readonly SessionRecord[];
  readonly commands?: readonly CommandRecord[];
  readonly approvals?: readonly ApprovalRecord[];
  readonly outputs?: readonly OutputRecord[];
  readonly accessTokens?: readonly AccessTokenRecord[];
}

export interface EventQuery {
  readonly afterSeq?: number;
  /** Only events before this seq; with it, the newest `limit` of them (still oldest first). */
  readonly beforeSeq?: number;
  readonly sessionId?: string;
  readonly commandId?: string;
  readonly types?: readonly AuditEventType[];
  /** At most this many, oldest first (default 1000, max 10000). */
  readonly limit?: number;
}

export interface CommandQuery {
  /** Exactly this command. */
  readonly id?: string;
  readonly sessionId?: string;
  readonly states?: readonly CommandState[];
  /** Commands whose (redacted) text contains this; ASCII letters match either case. */
  readonly text?: string;
  /** Paging: only commands after this one in the newest-first order. */
  readonly beforeId?: string;
  /** At most this many, newest first (default 50, max 500). */
  readonly limit?: number;
}

export const accessTokenRoles = ['viewer', 'approver'] as const;

/** `viewer` sees everything a person watching agents needs; `approver` also decides. */
export type AccessTokenRole = (typeof accessTokenRoles)[number];

/**
 * A token for a person (the dashboard, or the API with a person's rights). Only its digest is kept:
 * a copy of the store never grants access.
 */
export interface AccessTokenRecord {
  /** `tok_…`: names the token in lists, the audit log and revocation; not a secret. */
  readonly id: string;
  /** sha256 hex of the token. */
  readonly digest: string;
  readonly role: AccessTokenRole;
  /** Whom it was made for, as the person who made it wrote it. */
  readonly name: string;
  readonly createdAt: string;
  readonly createdBy: string;
  /** Null: valid until revoked. */
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
}

/** What verify found wrong first. The first four are the hash chain's; the rest its signed checkpoints'. */
export const verifyProblems = [
  'hash-mismatch',
  'chain-broken',
  'gap',
  'unreadable',
  /** A checkpoint's signature does not verify with the key it names. */
  'bad-signature',
  /** A checkpoint names a key verify was not told to trust. */
  'untrusted-key',
  /** A checkpoint names a hash the chain does not have at its seq: the chain was rebuilt. */
  'checkpoint-mismatch',
  /** A checkpoint names a seq the chain does not reach: events were deleted. */
  'checkpoint-beyond-head',
  /** The witness outside the store disagrees with the store. */
  'witness-mismatch',
] as const;

export type VerifyProblem = (typeof verifyProblems)[number];

export interface VerifyFailure {
  readonly ok: false;
  readonly checked: number;
  /** The first event that does not verify, where a gap in seq is, or the seq a bad checkpoint names. */
  readonly seq: number;
  readonly problem: VerifyProblem;
  readonly message: string;
}

/** A signed head of the audit chain (see audit-checkpoint.ts). */
export interface AuditCheckpoint {
  /** The newest event the checkpoint covers. */
  readonly seq: number;
  /** That event's hash, which covers every event before it. */
  readonly hash: string;
  /** When it was signed, ISO 8601 UTC. */
  readonly at: string;
  /** sha256 hex of the signer's raw Ed25519 public key. */
  readonly keyId: string;
  /** Base64 Ed25519 signature over seq, hash, at and keyId. */
  readonly signature: string;
}

export interface CheckpointSummary {
  /** False when verify had no public key: only the heads the checkpoints name were compared. */
  readonly signaturesChecked: boolean;
  /** Checkpoints that verified. */
  readonly verified: number;
  /** Seq of the newest checkpoint that verified; 0 when none did. */
  readonly lastSeq: number;
  /** Events after `lastSeq`: covered only by the hash chain, which a database writer can rebuild. */
  readonly unsignedEvents: number;
  /** Fingerprints of the keys that signed them (at most 16 listed). */
  readonly keyIds: readonly string[];
}

export type VerifyResult =
  | {
      readonly ok: true;
      readonly checked: number;
      readonly lastHash: string;
      readonly checkpoints: CheckpointSummary;
    }
  | VerifyFailure;

export interface VerifyOptions {
  /**
   * The keys whose checkpoints count. Absent or empty: signatures are not checked (the summary says so)
   * and a checkpoint counts when the chain has its head.
   */
  readonly trustedKeys?: readonly { readonly keyId: string; readonly publicKey: KeyObject }[];
}

export interface Store {
  /** Upserts the records and appends the events, in one transaction; returns the appended events. */
  commit(batch: StoreBatch): Promise<readonly AuditEvent[]>;
  /**
   * Decides a pending approval atomically: returns the updated record, or the current one unchanged when
   * it was no longer pending (someone decided first, or it expired). The event is appended only on success.
   */
  decideApproval(
    id: string,
    decision: {
      readonly status: 'approved' | 'denied' | 'expired';
      readonly decidedBy: string;
      readonly reason: string | null;
      readonly remember: boolean;
      /** One of the record's `grants` when approved for the rest of the session, else null. */
      readonly scope: GrantScope | null;
    },
    event: (updated: ApprovalRecord) => AuditEventInput,
  ): Promise<ApprovalRecord | null>;

  getSession(id: string): Promise<SessionRecord | null>;
  /** Oldest first; with `limit`, the newest `limit` sessions (still oldest first). */
  listSessions(query?: { readonly state?: SessionState; readonly limit?: number }): Promise<SessionRecord[]>;
  getCommand(id: string): Promise<CommandRecord | null>;
  listCommands(query: {
    readonly sessionId?: string;
    readonly states?: readonly CommandState[];
  }): Promise<CommandRecord[]>;
  /** A page of commands, newest first (see CommandQuery). */
  queryCommands(query: CommandQuery): Promise<CommandRecord[]>;
  getApproval(id: string): Promise<ApprovalRecord | null>;
  listApprovals(query?: {
    readonly status?: ApprovalStatus;
    readonly sessionId?: string;
  }): Promise<ApprovalRecord[]>;
  getOutput(id: string): Promise<OutputRecord | null>;
  readOutput(
    id: string,
    page: { readonly stream: 'stdout' | 'stderr'; readonly offset: number; readonly limit: number },
  ): Promise<OutputPage | null>;
  /**
   * Keeps a session's stored outputs within `maxChars` (stdout and stderr together) by deleting its
   * oldest ones; the newest output is always kept. Returns how many were deleted.
   */
  trimSessionOutputs(sessionId: string, maxChars: number): Promise<number>;
  /** Deletes stored outputs of sessions that ended before `endedBefore`; returns how many. */
  pruneOutputs(endedBefore: string): Promise<number>;

  listEvents(query?: EventQuery): Promise<AuditEvent[]>;
  getAccessToken(id: string): Promise<AccessTokenRecord | null>;
  /** The token whose digest this is, revoked or not; null when there is none. */
  findAccessToken(digest: string): Promise<AccessTokenRecord | null>;
  /** Every person's token, revoked ones included, oldest first. */
  listAccessTokens(): Promise<AccessTokenRecord[]>;
  /** Stores a signed checkpoint; storing one that is already there (same seq and key) does nothing. */
  addCheckpoint(checkpoint: AuditCheckpoint): Promise<void>;
  /** The checkpoint with the highest seq signed by `keyId`, or null when that key signed none. */
  lastCheckpoint(keyId: string): Promise<AuditCheckpoint | null>;
  /**
   * Walks the whole log in one consistent snapshot: the hash chain, the stored head, and every stored
   * checkpoint against the chain (and its signature, given trusted keys).
   */
  verify(options?: VerifyOptions): Promise<VerifyResult>;
  close(): Promise<void>;
}
