/**
 * Session lifecycle: create a sandbox per session, find it again, end it (on request, when idle, at
 * the end of its lifetime, when its sandbox dies) and, after a crash, close what the previous control
 * plane left open. Every transition is recorded in the store before it is reported done.
 */
import { randomBytes } from 'node:crypto';
import { AirlockError } from '../errors/index.ts';
import { presetNameSchema } from '../policy/index.ts';
import type { PresetName } from '../policy/index.ts';
import { validateSpec } from '../sandbox/index.ts';
import type { Driver, DriverName, SandboxSpec } from '../sandbox/index.ts';
import type { AuditEventInput, CommandRecord, JsonObject, SessionRecord, Store } from '../store/index.ts';
import { isOwnerAlive } from './owner.ts';
import type { SnapshotStore } from './snapshots.ts';
import type {
  DriverFor,
  LiveSession,
  SessionCreateOptions,
  SessionDefaults,
  SessionEndCode,
  SessionSettings,
  SnapshotInfo,
} from './types.ts';
import { sessionEndReasons } from './types.ts';

export interface SessionManagerOptions {
  readonly store: Store;
  readonly driverFor: DriverFor;
  readonly defaults: SessionDefaults;
  readonly snapshots: SnapshotStore;
  /** This control plane, as recorded on its sessions (see owner.ts). */
  readonly owner: string;
  readonly maxSessions: number;
  readonly now?: () => number;
  /** How often idle and expired sessions are looked for. Default 1 s. */
  readonly reapIntervalMs?: number;
  /** Told after a session has ended and been recorded. */
  readonly onEnded?: (session: LiveSession) => void;
  readonly onCreated?: (session: LiveSession, createMs: number) => void;
}

export interface RecoveryReport {
  readonly sessionsEnded: number;
  readonly commandsInterrupted: number;
  readonly approvalsExpired: number;
  readonly sandboxesSwept: number;
}

export interface SessionManager {
  create(options?: SessionCreateOptions): Promise<LiveSession>;
  /** A live session of this control plane; NOT_FOUND for an unknown id, SESSION_ENDED for an ended one. */
  get(id: string): Promise<LiveSession>;
  live(): LiveSession[];
  record(id: string): Promise<SessionRecord>;
  list(query?: {
    readonly state?: SessionRecord['state'];
    readonly limit?: number;
  }): Promise<SessionRecord[]>;
  /** Ends the session and destroys its sandbox; idempotent. */
  destroy(id: string): Promise<void>;
  touch(session: LiveSession): void;
  snapshot(id: string, name?: string | null): Promise<SnapshotInfo>;
  /**
   * Ends what a crashed control plane left: its sessions, commands and approvals in the store, and
   * (through `sweepLeftovers`, which returns how much it removed) its sandboxes on the host.
   */
  recover(sweepLeftovers: () => Promise<number>): Promise<RecoveryReport>;
  /** Ends sessions past their idle timeout or lifetime; returns how many. */
  reap(): Promise<number>;
  close(): Promise<void>;
}

const SESSION_ID = /^ses_[0-9a-f]{24}$/;
const MAX_ENV_ENTRIES = 256;

export function createSessionManager(options: SessionManagerOptions): SessionManager {
  const { store, defaults, snapshots, owner } = options;
  const now = options.now ?? Date.now;
  const sessions = new Map<string, LiveSession>();
  const ending = new Map<string, Promise<void>>();
  let creating = 0;
  let closed = false;
  let reaping: Promise<number> | null = null;

  const reapTimer = setInterval(() => {
    reaping ??= reap().finally(() => {
      reaping = null;
    });
  }, options.reapIntervalMs ?? 1000);
  reapTimer.unref();

  function settingsFor(input: SessionCreateOptions, snapshot: SnapshotInfo | null): SessionSettings {
    const base = snapshot?.settings;
    const secretEnv = input.secretEnv ?? {};
    const env = { ...defaults.sandbox.env, ...(input.env ?? {}), ...secretEnv };
    if (Object.keys(env).length > MAX_ENV_ENTRIES) {
      throw new AirlockError('INVALID_ARGUMENT', `at most ${MAX_ENV_ENTRIES} environment variables`, {
        field: 'env',
      });
    }
    const driver = input.driver ?? base?.driver ?? defaults.driver;
    const sandbox: SandboxSpec = validateSpec(
      {
        image: input.image ?? base?.sandbox.image ?? defaults.sandbox.image,
        memoryBytes: input.memoryBytes ?? base?.sandbox.memoryBytes ?? defaults.sandbox.memoryBytes,
        cpus: input.cpus ?? base?.sandbox.cpus ?? defaults.sandbox.cpus,
        pids: input.pids ?? base?.sandbox.pids ?? defaults.sandbox.pids,
        scratchBytes: input.scratchBytes ?? base?.sandbox.scratchBytes ?? defaults.sandbox.scratchBytes,
        env,
        timeoutMs: input.timeoutMs ?? defaults.sandbox.timeoutMs,
      },
      { allowImageReference: driver === 'docker' },
    );
    if (sandbox.timeoutMs > defaults.maxTimeoutMs) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `timeoutMs ${sandbox.timeoutMs} is over the configured maximum of ${defaults.maxTimeoutMs}`,
        { field: 'timeoutMs' },
      );
    }
    const idleTimeoutMs = positiveMs(input.idleTimeoutMs, defaults.idleTimeoutMs, 'idleTimeoutMs');
    const ttlMs = positiveMs(input.ttlMs, defaults.ttlMs, 'ttlMs');
    return {
      driver,
      sandbox,
      idleTimeoutMs,
      ttlMs,
      maxTimeoutMs: defaults.maxTimeoutMs,
      secretEnvNames: Object.keys(secretEnv),
      fromSnapshot: snapshot?.id ?? null,
      policy: presetOf(input.policy) ?? base?.policy ?? null,
    };
  }

  function recordOf(session: LiveSession): SessionRecord {
    const { settings } = session;
    // The recorded spec carries the environment's names, never its values: they may be secrets.
    const spec: JsonObject = {
      driver: settings.driver,
      image: settings.sandbox.image,
      memoryBytes: settings.sandbox.memoryBytes,
      cpus: settings.sandbox.cpus,
      pids: settings.sandbox.pids,
      scratchBytes: settings.sandbox.scratchBytes,
      timeoutMs: settings.sandbox.timeoutMs,
      envNames: Object.keys(settings.sandbox.env),
      secretEnvNames: [...settings.secretEnvNames],
      idleTimeoutMs: settings.idleTimeoutMs,
      ttlMs: settings.ttlMs,
      fromSnapshot: settings.fromSnapshot,
      policy: settings.policy,
    };
    return {
      id: session.id,
      state: session.phase === 'ended' ? 'ended' : 'active',
      driver: settings.driver,
      sandboxId: session.sandbox.id,
      spec,
      owner,
      createdAt: iso(session.createdAt),
      lastActiveAt: iso(session.lastActiveAt),
      expiresAt: iso(session.expiresAt),
      endedAt: session.phase === 'ended' ? iso(now()) : null,
      endReason: session.endCode === null ? null : sessionEndReasons[session.endCode],
    };
  }

  async function create(input: SessionCreateOptions = {}): Promise<LiveSession> {
    if (closed) throw new AirlockError('SANDBOX_DESTROYED', 'the control plane is shutting down');
    if (sessions.size + creating >= options.maxSessions) {
      throw new AirlockError(
        'LIMIT_REACHED',
        `${options.maxSessions} sessions are already open; destroy one or raise the session limit`,
        { limit: options.maxSessions },
      );
    }
    creating += 1;
    try {
      const snapshot = input.from === undefined ? null : snapshots.get(input.from);
      const settings = settingsFor(input, snapshot);
      const driver: Driver = options.driverFor(settings.driver);
      const started = performance.now();
      const sandbox = await driver.create(settings.sandbox);
      const createMs = performance.now() - started;
      const createdAt = now();
      const session: LiveSession = {
        id: `ses_${randomBytes(12).toString('hex')}`,
        sandbox,
        settings,
        secrets: Object.entries(input.secretEnv ?? {}).map(([name, value]) => ({ name, value })),
        createdAt,
        expiresAt: createdAt + settings.ttlMs,
        lastActiveAt: createdAt,
        busy: 0,
        phase: 'active',
        endCode: null,
        remembered: new Set(),
        ending: new AbortController(),
      };
      try {
        if (snapshot !== null) await snapshots.restore(snapshot.id, sandbox);
        await store.commit({
          sessions: [recordOf(session)],
          events: [
            {
              type: 'session.created',
              sessionId: session.id,
              commandId: null,
              data: {
                driver: settings.driver,
                sandboxId: sandbox.id,
                isolation: { ...(sandbox.info ?? { isolation: settings.driver }) },
                spec: recordOf(session).spec,
              },
            },
          ],
        });
      } catch (error) {
        await sandbox.destroy();
        throw error;
      }
      sessions.set(session.id, session);
      // A sandbox that dies on its own (killed from outside, the helper crashed) ends its session.
      void sandbox.ended.then(() => {
        if (session.phase === 'active') void end(session, 'sandbox_ended');
      });
      options.onCreated?.(session, createMs);
      return session;
    } finally {
      creating -= 1;
    }
  }

  async function end(session: LiveSession, code: SessionEndCode): Promise<void> {
    const pending = ending.get(session.id);
    if (pending) return pending;
    const work = (async () => {
      const reason = sessionEndReasons[code];
      session.phase = 'ending';
      session.endCode = code;
      session.ending.abort(new AirlockError('SANDBOX_DESTROYED', `the session ended: ${reason}`));
      try {
        await session.sandbox.destroy();
      } finally {
        session.phase = 'ended';
        sessions.delete(session.id);
        const events: AuditEventInput[] = [
          { type: 'session.destroyed', sessionId: session.id, commandId: null, data: { reason: code } },
        ];
        await store.commit({ sessions: [recordOf(session)], events });
        options.onEnded?.(session);
      }
    })();
    ending.set(session.id, work);
    return work;
  }

  async function get(id: string): Promise<LiveSession> {
    const session = sessions.get(id);
    if (session !== undefined && session.phase === 'active') return session;
    if (typeof id !== 'string' || !SESSION_ID.test(id)) {
      throw new AirlockError('NOT_FOUND', `no session ${JSON.stringify(String(id)).slice(0, 80)}`, {
        sessionId: id,
      });
    }
    const record = await store.getSession(id);
    if (record === null) throw new AirlockError('NOT_FOUND', `no session ${id}`, { sessionId: id });
    throw new AirlockError(
      'SESSION_ENDED',
      `session ${id} has ended${record.endReason ? ` (${record.endReason})` : ''}; create a new one`,
      { sessionId: id },
    );
  }

  async function record(id: string): Promise<SessionRecord> {
    const found = typeof id === 'string' && SESSION_ID.test(id) ? await store.getSession(id) : null;
    if (found === null)
      throw new AirlockError('NOT_FOUND', `no session ${JSON.stringify(String(id)).slice(0, 80)}`);
    return found;
  }

  async function destroy(id: string): Promise<void> {
    const session = sessions.get(id);
    if (session === undefined) {
      await record(id);
      const pending = ending.get(id);
      if (pending) await pending;
      return;
    }
    await end(session, 'closed');
  }

  async function reap(): Promise<number> {
    const at = now();
    const due: Array<[LiveSession, SessionEndCode]> = [];
    for (const session of sessions.values()) {
      if (session.phase !== 'active') continue;
      if (at >= session.expiresAt) due.push([session, 'lifetime_expired']);
      else if (session.busy === 0 && at - session.lastActiveAt >= session.settings.idleTimeoutMs) {
        due.push([session, 'idle_timeout']);
      }
    }
    await Promise.allSettled(due.map(([session, reason]) => end(session, reason)));
    return due.length;
  }

  async function recover(sweepLeftovers: () => Promise<number>): Promise<RecoveryReport> {
    const orphaned = (await store.listSessions({ state: 'active' })).filter(
      (record) => record.owner !== owner && !isOwnerAlive(record.owner),
    );
    let commandsInterrupted = 0;
    let approvalsExpired = 0;
    const endedAt = iso(now());
    for (const record of orphaned) {
      const open = await store.listCommands({
        sessionId: record.id,
        states: ['proposed', 'pending_approval', 'running'],
      });
      const commands: CommandRecord[] = open.map((command) => ({
        ...command,
        state: 'interrupted',
        finishedAt: endedAt,
      }));
      const pendingApprovals = await store.listApprovals({ sessionId: record.id, status: 'pending' });
      const reason = sessionEndReasons.crashed;
      await store.commit({
        sessions: [{ ...record, state: 'ended', endedAt, endReason: reason }],
        commands,
        approvals: pendingApprovals.map((approval) => ({
          ...approval,
          status: 'expired',
          decidedAt: endedAt,
          decidedBy: 'airlock',
          decisionReason: reason,
        })),
        events: [
          ...open.map(
            (command): AuditEventInput => ({
              type: 'execution.interrupted',
              sessionId: record.id,
              commandId: command.id,
              data: { previousState: command.state, reason },
            }),
          ),
          ...pendingApprovals.map(
            (approval): AuditEventInput => ({
              type: 'approval.decided',
              sessionId: record.id,
              commandId: approval.commandId,
              data: { approvalId: approval.id, status: 'expired', decidedBy: 'airlock', reason },
            }),
          ),
          { type: 'session.destroyed', sessionId: record.id, commandId: null, data: { reason: 'crashed' } },
        ],
      });
      commandsInterrupted += open.length;
      approvalsExpired += pendingApprovals.length;
    }
    const sandboxesSwept = await sweepLeftovers();
    const report = {
      sessionsEnded: orphaned.length,
      commandsInterrupted,
      approvalsExpired,
      sandboxesSwept,
    };
    if (orphaned.length > 0 || sandboxesSwept > 0) {
      await store.commit({
        events: [{ type: 'recovery.completed', sessionId: null, commandId: null, data: { ...report } }],
      });
    }
    return report;
  }

  async function snapshot(id: string, name: string | null = null): Promise<SnapshotInfo> {
    const session = await get(id);
    session.busy += 1;
    try {
      const info = await snapshots.save(session.sandbox, { sessionId: id, name, settings: session.settings });
      await store.commit({
        events: [
          {
            type: 'snapshot.created',
            sessionId: id,
            commandId: null,
            data: { snapshotId: info.id, name: info.name, bytes: info.bytes },
          },
        ],
      });
      return info;
    } finally {
      session.busy -= 1;
      touch(session);
    }
  }

  function touch(session: LiveSession): void {
    session.lastActiveAt = now();
  }

  async function close(): Promise<void> {
    closed = true;
    clearInterval(reapTimer);
    await Promise.allSettled([...sessions.values()].map((session) => end(session, 'shutdown')));
    await Promise.allSettled([...ending.values()]);
  }

  return {
    create,
    get,
    live: () => [...sessions.values()],
    record,
    list: (query = {}) => store.listSessions(query),
    destroy,
    touch,
    snapshot,
    recover,
    reap,
    close,
  };
}

/** A session's policy preset as given by a caller: absent, or one of the presets (else INVALID_ARGUMENT). */
export function presetOf(value: unknown): PresetName | undefined {
  if (value === undefined) return undefined;
  const parsed = presetNameSchema.safeParse(value);
  if (!parsed.success) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `policy must be one of ${presetNameSchema.options.join(', ')}`,
      {
        field: 'policy',
      },
    );
  }
  return parsed.data;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function positiveMs(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new AirlockError('INVALID_ARGUMENT', `${field} must be a positive whole number of milliseconds`, {
      field,
    });
  }
  return value;
}

export type { DriverName };
