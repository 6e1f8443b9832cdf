/**
 * The JSON the HTTP API v1 speaks, declared here because the SDK imports nothing from the server.
 * Field for field as in the wire contract; a change there is a change here.
 */

export type SessionState = 'active' | 'ended';

export interface SessionInfo {
  readonly id: string;
  readonly state: SessionState;
  readonly driver: string;
  readonly createdAt: string;
  readonly lastActiveAt: string;
  readonly expiresAt: string | null;
  readonly endedAt: string | null;
  readonly endReason: string | null;
  readonly limits: {
    readonly memoryBytes: number;
    readonly cpus: number;
    readonly pids: number;
    readonly scratchBytes: number;
    readonly timeoutMs: number;
    readonly idleTimeoutMs: number;
  };
  readonly policy: string;
  readonly isolation: {
    readonly isolation: string;
    readonly platform?: string;
    readonly runtime?: string;
    readonly image?: string;
    /** What keeps commands from the sandbox's supervisor and from each other's processes. */
    readonly processes?: {
      /** The host uid the sandbox's processes run as, its own; null under gVisor (not host processes). */
      readonly hostUid: number | null;
      /** The supervisor is the sandbox's pid 1: commands cannot signal it. */
      readonly supervisorIsPid1: boolean;
      /** Commands run as another uid than the supervisor (gVisor). */
      readonly separateUid: boolean;
      /** Landlock ABI confining each command to its own processes; null without Landlock. */
      readonly landlockAbi: number | null;
      /** The host's Yama ptrace_scope; null without Yama or under gVisor. */
      readonly yamaPtraceScope: number | null;
    };
  } | null;
  readonly usage: {
    readonly memoryBytes: number;
    readonly pids: number;
    readonly cpuUsageMs: number;
    readonly cpuFraction: number | null;
  } | null;
  /**
   * What will ask in this session: the network it reaches, the secrets it holds, what needs a person,
   * who reviews first, how long a call waits. Null once the session has ended.
   */
  readonly boundary: SessionBoundary | null;
  /** What its commands can reach through the egress proxy; secrets by name and hosts, never values. */
  readonly network: {
    readonly mode: NetworkMode;
    readonly allow: readonly string[];
    readonly hosts: Readonly<Record<string, string>>;
    readonly secrets: readonly { readonly name: string; readonly hosts: readonly string[] }[];
  };
}

export type NetworkMode = 'none' | 'allowlist' | 'ask';

/**
 * A session's network, as airlock.yaml's `sandbox.network` writes it: `none`, or a mode, host globs
 * (`api.example.test`, `*.docs.example.org:443`, `registry:npm`) and fixed addresses. Never wider than
 * the server's configuration (INVALID_ARGUMENT otherwise).
 */
export type NetworkRequest =
  | 'none'
  | {
      readonly mode?: NetworkMode;
      readonly allow?: readonly string[];
      readonly hosts?: Readonly<Record<string, string>>;
    };

/** One of the server's configured secrets, by name, for some of its hosts (default: all of them). */
export interface SecretRequest {
  readonly name: string;
  readonly hosts?: readonly string[];
  readonly fromEnv?: string;
  readonly value?: string;
}

/** What will ask in a session (see `SessionInfo.boundary`). */
export interface SessionBoundary {
  readonly network: { readonly mode: 'none' | 'allowlist' | 'ask'; readonly allow: readonly string[] };
  /** Names of secret variables and paths of secret files the session holds: reading them asks. */
  readonly secrets: { readonly envNames: readonly string[]; readonly files: readonly string[] };
  /** Commands' HOME (outside /workspace). */
  readonly home: string;
  readonly approvalRequiredFor: readonly string[];
  /** `router.reviewer`'s name, asked before a person; null when there is none. */
  readonly reviewer: string | null;
  /** How long a call waits for a person before answering `pending_approval`. */
  readonly approvalWaitMs: number;
  /** Undecided by then means denied. */
  readonly approvalTimeoutMs: number;
  /** What a person approved for the rest of this session. */
  readonly granted: {
    readonly commands: number;
    readonly programs: readonly string[];
    readonly hosts: readonly string[];
  };
}

/** `POST /v1/sessions` answers with the session and the token scoped to it. */
export interface CreatedSession extends SessionInfo {
  readonly token: string;
}

export type PolicyPreset = 'readonly' | 'coding-agent' | 'permissive';

/** The sandbox drivers a session can ask for (the server refuses any other name). */
export type DriverName = 'bwrap' | 'gvisor' | 'docker';

/** Body of `POST /v1/sessions`. `timeoutMs` is the session's default time limit per command. */
export interface CreateSessionRequest {
  readonly driver?: DriverName;
  readonly image?: string;
  readonly memoryBytes?: number;
  readonly cpus?: number;
  readonly pids?: number;
  readonly scratchBytes?: number;
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly secretEnv?: Readonly<Record<string, string>>;
  readonly idleTimeoutMs?: number;
  readonly ttlMs?: number;
  /** A snapshot name to start from. */
  readonly from?: string;
  readonly policy?: PolicyPreset;
  /** Default: the server's `sandbox.network`. */
  readonly network?: NetworkRequest;
  /** Default: every secret of the server's `sandbox.secrets`. */
  readonly secrets?: readonly SecretRequest[];
}

export type RunStatus =
  | 'completed'
  | 'denied'
  | 'pending_approval'
  | 'timed_out'
  | 'rate_limited'
  | 'failed'
  | 'running'
  | 'killed';

export type DecisionValue = 'allow' | 'ask' | 'deny';

export interface RunResult {
  /** `cmd_…` */
  readonly id: string;
  readonly sessionId: string;
  readonly command: string;
  readonly status: RunStatus;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly oomKilled: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly truncated: boolean;
  readonly outputId: string | null;
  readonly durationMs: number;
  readonly decision: DecisionValue;
  readonly reasons: readonly string[];
  readonly ruleIds: readonly string[];
  readonly approvalId: string | null;
  readonly retryAfterMs: number | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  /** Hosts the egress proxy refused while the command ran, each with the line its client was told. */
  readonly refusedHosts: readonly {
    readonly host: string;
    readonly port: number;
    readonly reason: string;
    readonly message: string;
    readonly count: number;
  }[];
  readonly forModel: string;
}

/** Body of `POST /v1/sessions/:id/commands`. */
export interface RunCommandRequest {
  readonly command: string;
  readonly timeoutMs?: number;
  readonly wait?: boolean;
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Standard input as text; `stdinBase64` for bytes (not both). */
  readonly stdin?: string;
  readonly stdinBase64?: string;
  readonly interactive?: { readonly pty?: { readonly cols: number; readonly rows: number } };
  /** How long to wait for a person before answering `pending_approval`; default the server's (15 s). */
  readonly approvalWaitMs?: number;
}

/** `POST /v1/sessions/:id/commands:check`: what running a command would do now. Nothing ran. */
export interface CheckResult {
  readonly sessionId: string;
  readonly command: string;
  /** `allow`: it would run unasked; `ask`: a person would be asked first; `deny`: it would be refused. */
  readonly decision: DecisionValue;
  readonly reasons: readonly string[];
  readonly ruleIds: readonly string[];
  readonly approvalRequiredFor: readonly string[];
  /** For an ask: what a person could approve for the rest of the session instead of once. */
  readonly grants: readonly ApprovalGrant[];
  readonly forModel: string;
}

export interface FileWriteResult {
  readonly status: 'completed' | 'denied' | 'pending_approval';
  readonly path: string;
  readonly bytes: number;
  readonly approvalId: string | null;
  readonly reasons: readonly string[];
  readonly forModel: string;
}

export interface FileEntry {
  readonly name: string;
  readonly kind: 'file' | 'directory' | 'symlink' | 'other';
  readonly sizeBytes: number;
  readonly modifiedMs: number;
}

export type OutputStream = 'stdout' | 'stderr';

export interface OutputPage {
  /** The output's id (`outputId` of the RunResult). */
  readonly id: string;
  readonly sessionId: string;
  /** The command whose output this is. */
  readonly commandId: string;
  readonly stream: OutputStream;
  /** In characters. */
  readonly offset: number;
  readonly text: string;
  readonly totalChars: number;
  /** Offset of the next page; null at the end. */
  readonly nextOffset: number | null;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

/** What a person may approve for the rest of the session: this exact command, this program, a host. */
export type GrantScope = 'command' | 'program' | 'host';

/** One "remember" a request offers, with what it would cover. */
export interface ApprovalGrant {
  readonly scope: GrantScope;
  readonly covers: readonly string[];
}

export interface ApprovalRecord {
  readonly id: string;
  readonly sessionId: string;
  readonly commandId: string | null;
  /** `egress`: a connection to a host off the session's allow-list; the subject is `host:port`. */
  readonly action: 'command' | 'write_file' | 'egress';
  readonly subject: string;
  readonly parsed: readonly string[];
  readonly reasons: readonly string[];
  readonly status: ApprovalStatus;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly decidedAt: string | null;
  readonly decidedBy: string | null;
  readonly decisionReason: string | null;
  readonly remember: boolean;
  /** What "remember" may cover, offered with the request; shown before the person chooses. */
  readonly grants: readonly ApprovalGrant[];
  /** The grant chosen; null when approved once (or not approved). */
  readonly scope: GrantScope | null;
}

/** Body of `POST /v1/approvals/:id`. */
export interface DecideApprovalRequest {
  readonly decision: 'approve' | 'deny';
  readonly reason?: string;
  /** Approve for the rest of the session: one of the request's `grants`. */
  readonly scope?: GrantScope;
  /** `scope: 'command'` where offered, else once (from before scopes). */
  readonly remember?: boolean;
}

export interface AuditEvent {
  readonly seq: number;
  readonly at: string;
  /** e.g. `session.created`, `command.decided`, `approval.decided`, `execution.finished`. */
  readonly type: string;
  readonly sessionId: string | null;
  readonly commandId: string | null;
  readonly data: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * What verify found wrong first: the hash chain's problems (an edited event, a broken link, a missing
 * seq, an unreadable row), a signed checkpoint the chain no longer matches, or a witness that disagrees.
 */
export type VerifyProblem =
  | 'hash-mismatch'
  | 'chain-broken'
  | 'gap'
  | 'unreadable'
  | 'bad-signature'
  | 'untrusted-key'
  | 'checkpoint-mismatch'
  | 'checkpoint-beyond-head'
  | 'witness-mismatch';

/** How far the signed checkpoints reach. */
export interface CheckpointSummary {
  /** False when the server had no key to check signatures with. */
  readonly signaturesChecked: boolean;
  readonly verified: number;
  /** Seq of the newest checkpoint that verified; 0 when none did. */
  readonly lastSeq: number;
  /** Events after `lastSeq`: covered only by the hash chain, which a database writer can rebuild. */
  readonly unsignedEvents: number;
  /** sha256 fingerprints of the signing keys. */
  readonly keyIds: readonly string[];
}

export type VerifyResult =
  | {
      readonly ok: true;
      readonly checked: number;
      readonly lastHash: string;
      readonly checkpoints: CheckpointSummary;
      /** The newest checkpoint the server signed, kept outside the store, which the chain reaches. */
      readonly anchor: { readonly path: string; readonly seq: number } | null;
      /** The configured witness file, compared with the store. */
      readonly witness: {
        readonly path: string;
        readonly records: number;
        readonly firstSeq: number;
        readonly lastSeq: number;
        /** Store events after the witness's last line (the sink is behind, or the file was cut). */
        readonly unwitnessedEvents: number;
      } | null;
    }
  | {
      readonly ok: false;
      readonly checked: number;
      /** The first event that does not verify, where a gap in seq is, or the seq a bad checkpoint names. */
      readonly seq: number;
      readonly problem: VerifyProblem;
      readonly message: string;
    };

export interface HealthStatus {
  readonly status: 'ok';
  /** Active sessions. */
  readonly sessions: number;
  /** The server's Airlock version. */
  readonly version: string;
}

/** Every non-2xx answer of the API. */
export interface ErrorEnvelope {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details?: Readonly<Record<string, unknown>>;
  };
}

/** `event: output` of a command's event stream. */
export interface OutputEventData {
  readonly stream: OutputStream;
  readonly text: string;
}
