/**
 * Session lifecycle: create a sandbox per session, find it again, end it (on request, when idle, at
 * the end of its lifetime, when its sandbox dies) and, after a crash, close what the previous control
 * plane left open. Every transition is recorded in the store before it is reported done.
 */
import { randomBytes } from 'node:crypto';
import { AirlockError } from '../errors/index.ts';
import { validateSpec } from '../sandbox/index.ts';
import type { Sandbox, SandboxInfo } from '../sandbox/index.ts';
import type { JsonObject, SessionRecord, Store } from '../store/index.ts';
import { capabilitiesOf, SANDBOX_HOME } from './capabilities.ts';
import { recoverOrphans } from './recovery.ts';
import type { RecoveryReport } from './recovery.ts';
import { recordOf } from './session-record.ts';
import { settingsFor } from './settings.ts';
import type { SnapshotStore } from './snapshots.ts';
import type {
  AttachSession,
  DriverFor,
  LiveSession,
  SecretFileValue,
  SessionAttachment,
  SessionCreateOptions,
  SessionNetwork,
  SessionSettings,
  SessionDefaults,
  SessionEndCode,
  SessionGrant,
  SessionPhase,
  SnapshotInfo,
} from './types.ts';
import { NO_NETWORK, sessionEndReasons } from './types.ts';

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
  /**
   * Asked before each new session, after this manager's own limit: a cluster's limit over every node
   * (it throws LIMIT_REACHED to refuse). The returned release is called once the session is recorded,
   * or its creation failed.
   */
  readonly admit?: () => Promise<() => Promise<void>>;
  /**
   * Opens what a session needs beside its sandbox (its egress), before the sandbox is made; closed
   * once the sandbox is destroyed. Without it sessions have no network.
   */
  readonly attach?: AttachSession;
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
  /** Marks activity now: the idle timeout counts from here. */
  touch(session: LiveSession): void;
  /**
   * Marks work in flight (a command, a file copy) until the returned function is called: a busy
   * session is never reaped as idle, and both ends count as activity. Calling it twice is harmless.
   */
  beginWork(session: LiveSession): () => void;
  /**
   * Moves the end of the session's lifetime to `expiresInMs` from now (longer or shorter), at most
   * `maxTtlMs` after its creation: past that, INVALID_ARGUMENT with the latest end allowed. Recorded.
   */
  extend(id: string, expiresInMs: number): Promise<LiveSession>;
  /** Keys (parsed commands, `write_file <path>`) a person approved for the rest of the session. */
  remember(session: LiveSession, keys: readonly string[]): void;
  /** A person's "remember" for the rest of the session: commands, programs or hosts. */
  grant(session: LiveSession, grant: SessionGrant): void;
  /**
   * A secret file entered the sandbox (`path`, absolute): its values are redacted from every output
   * from now on, and the policy judges reads of the file as reads of a secret the session was given.
   */
  addSecretFile(session: LiveSession, path: string, values: readonly SecretFileValue[]): void;
  /** The session's network after a live change (the egress proxy already enforces it). */
  setNetwork(session: LiveSession, network: SessionNetwork): void;
  snapshot(id: string, name?: string | null): Promise<SnapshotInfo>;
  /**
   * Ends what a crashed control plane left: its sessions, commands and approvals in the store, and
   * (through `sweepLeftovers`, which returns how much it removed) its sandboxes on the host.
   */
  recover(sweepLeftovers: () => Promise<number>): Promise<RecoveryReport>;
  /** Ends sessions past their idle timeout or lifetime; returns how many. */
  reap(): Promise<number>;
  /**
   * Ends every live session for one reason (a cluster that declared this node lost: the others have
   * already ended them in the store); returns how many.
   */
  endAll(code: SessionEndCode, detail?: string): Promise<number>;
  close(): Promise<void>;
}

const SESSION_ID = /^ses_[0-9a-f]{24}$/;

/** The manager's own view of a session: the fields `LiveSession` shows read-only, writable. */
interface ManagedSession extends LiveSession {
  expiresAt: number;
  lastActiveAt: number;
  network: SessionNetwork;
  busy: number;
  phase: SessionPhase;
  endCode: SessionEndCode | null;
  fileSecrets: readonly SecretFileValue[];
  capabilities: LiveSession['capabilities'];
  readonly remembered: Set<string>;
  readonly grantedPrograms: Set<string>;
  readonly grantedHosts: Set<string>;
  /** Absolute paths of secret files copied in. */
  readonly secretFiles: string[];
}

/** Most values one session redacts from secret files: each costs every output a search. */
const MAX_SECRET_FILE_VALUES = 1024;

export function createSessionManager(options: SessionManagerOptions): SessionManager {
  return new Sessions(options);
}

class Sessions implements SessionManager {
  readonly #options: SessionManagerOptions;
  readonly #store: Store;
  readonly #now: () => number;
  readonly #sessions = new Map<string, ManagedSession>();
  /** Every session this manager made, ended ones too while anyone holds them. */
  readonly #managed = new WeakMap<LiveSession, ManagedSession>();
  readonly #ending = new Map<string, Promise<void>>();
  readonly #attachments = new Map<string, SessionAttachment>();
  readonly #reapTimer: ReturnType<typeof setInterval>;
  #creating = 0;
  #closed = false;
  #reaping: Promise<number> | null = null;

  constructor(options: SessionManagerOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    // One sweep at a time: a slow store must not stack sweeps up behind it.
    this.#reapTimer = setInterval(() => {
      if (this.#reaping !== null) return;
      this.#reaping = this.reap().finally(() => {
        this.#reaping = null;
      });
    }, options.reapIntervalMs ?? 1000);
    this.#reapTimer.unref();
  }

  async create(input: SessionCreateOptions = {}): Promise<LiveSession> {
    if (this.#closed) throw new AirlockError('SANDBOX_DESTROYED', 'the control plane is shutting down');
    const { maxSessions } = this.#options;
    if (this.#sessions.size + this.#creating >= maxSessions) {
      throw new AirlockError(
        'LIMIT_REACHED',
        `${maxSessions} sessions are already open; destroy one or raise the session limit`,
        { limit: maxSessions },
      );
    }
    this.#creating += 1;
    try {
      const release = await this.#options.admit?.();
      try {
        return await this.#make(input);
      } finally {
        await release?.();
      }
    } finally {
      this.#creating -= 1;
    }
  }

  async #make(input: SessionCreateOptions): Promise<LiveSession> {
    const { snapshots, driverFor } = this.#options;
    const snapshot = input.from === undefined ? null : snapshots.get(input.from);
    const id = `ses_${randomBytes(12).toString('hex')}`;
    const base = settingsFor(this.#options.defaults, input, snapshot);
    const attachment = await this.#options.attach?.(id, input);
    let sandbox: Sandbox;
    let settings: SessionSettings;
    const started = performance.now();
    try {
      settings = withAttachment(base, attachment);
      sandbox = await driverFor(settings.driver).create(settings.sandbox);
    } catch (error) {
      await attachment?.close();
      throw error;
    }
    const createMs = performance.now() - started;
    const createdAt = this.#now();
    const session: ManagedSession = {
      id,
      sandbox,
      settings,
      secrets: [
        ...Object.entries(input.secretEnv ?? {}).map(([name, value]) => ({ name, value })),
        ...(attachment?.secrets ?? []),
      ],
      fileSecrets: [],
      network: attachment?.network ?? NO_NETWORK,
      capabilities: this.#capabilities(settings, attachment?.network ?? NO_NETWORK, [], []),
      createdAt,
      expiresAt: createdAt + settings.ttlMs,
      lastActiveAt: createdAt,
      busy: 0,
      phase: 'active',
      endCode: null,
      remembered: new Set(),
      grantedPrograms: new Set(),
      grantedHosts: new Set(),
      secretFiles: [],
      ending: new AbortController(),
    };
    try {
      if (snapshot !== null) await snapshots.restore(snapshot.id, sandbox);
      await makeHome(sandbox, settings.sandbox.env['HOME']);
      const record = this.#recordOf(session);
      await this.#store.commit({
        sessions: [record],
        events: [
          {
            type: 'session.created',
            sessionId: session.id,
            commandId: null,
            data: {
              driver: settings.driver,
              sandboxId: sandbox.id,
              isolation: isolationRecord(sandbox.info ?? { isolation: settings.driver }),
              spec: record.spec,
            },
          },
        ],
      });
    } catch (error) {
      await sandbox.destroy();
      await attachment?.close();
      throw error;
    }
    if (attachment !== undefined) this.#attachments.set(session.id, attachment);
    this.#sessions.set(session.id, session);
    this.#managed.set(session, session);
    // A sandbox that dies on its own (killed from outside, the helper crashed) or that Airlock
    // ended for breaking the supervisor protocol ends its session, with why in the audit log.
    void sandbox.ended.then((ended) => {
      if (session.phase !== 'active') return;
      const code = ended.cause === 'protocol_violation' ? 'sandbox_protocol_violation' : 'sandbox_ended';
      void this.#end(session, code, ended.detail);
    });
    this.#options.onCreated?.(session, createMs);
    return session;
  }

  #end(session: ManagedSession, code: SessionEndCode, detail?: string): Promise<void> {
    const pending = this.#ending.get(session.id);
    if (pending) return pending;
    const work = (async () => {
      session.phase = 'ending';
      session.endCode = code;
      const reason = sessionEndReasons[code];
      session.ending.abort(new AirlockError('SANDBOX_DESTROYED', `the session ended: ${reason}`));
      try {
        await session.sandbox.destroy();
      } finally {
        // After the sandbox: nothing is left to connect through it.
        await this.#attachments.get(session.id)?.close();
        this.#attachments.delete(session.id);
        session.phase = 'ended';
        this.#sessions.delete(session.id);
        await this.#store.commit({
          sessions: [this.#recordOf(session)],
          events: [
            {
              type: 'session.destroyed',
              sessionId: session.id,
              commandId: null,
              data: { reason: code, ...(detail === undefined ? {} : { detail }) },
            },
          ],
        });
        this.#options.onEnded?.(session);
      }
    })();
    this.#ending.set(session.id, work);
    return work;
  }

  async get(id: string): Promise<LiveSession> {
    const session = this.#sessions.get(id);
    if (session !== undefined && session.phase === 'active') return session;
    if (typeof id !== 'string' || !SESSION_ID.test(id)) {
      throw new AirlockError('NOT_FOUND', `no session ${JSON.stringify(String(id)).slice(0, 80)}`, {
        sessionId: id,
      });
    }
    const record = await this.#store.getSession(id);
    if (record === null) throw new AirlockError('NOT_FOUND', `no session ${id}`, { sessionId: id });
    throw new AirlockError(
      'SESSION_ENDED',
      `session ${id} has ended${record.endReason ? ` (${record.endReason})` : ''}; create a new one`,
      { sessionId: id },
    );
  }

  live(): LiveSession[] {
    return [...this.#sessions.values()];
  }

  async record(id: string): Promise<SessionRecord> {
    const found = typeof id === 'string' && SESSION_ID.test(id) ? await this.#store.getSession(id) : null;
    if (found === null) {
      throw new AirlockError('NOT_FOUND', `no session ${JSON.stringify(String(id)).slice(0, 80)}`);
    }
    return found;
  }

  list(query: { readonly state?: SessionRecord['state']; readonly limit?: number } = {}) {
    return this.#store.listSessions(query);
  }

  async destroy(id: string): Promise<void> {
    const session = this.#sessions.get(id);
    if (session !== undefined) {
      await this.#end(session, 'closed');
      return;
    }
    await this.record(id);
    await this.#ending.get(id);
  }

  async extend(id: string, expiresInMs: number): Promise<LiveSession> {
    const session = this.#sessions.get(id);
    if (session === undefined || session.phase !== 'active') await this.get(id);
    const live = session as ManagedSession;
    if (!Number.isSafeInteger(expiresInMs) || expiresInMs <= 0) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        'expiresInMs must be a positive whole number of milliseconds',
        {
          field: 'expiresInMs',
        },
      );
    }
    const now = this.#now();
    const latest = live.createdAt + this.#options.defaults.maxTtlMs;
    const expiresAt = now + expiresInMs;
    if (expiresAt > latest) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `a session lives at most ${this.#options.defaults.maxTtlMs} ms from its creation (sessions.maxLifetime): ` +
          `expiresInMs may be at most ${Math.max(0, latest - now)} now`,
        {
          field: 'expiresInMs',
          max: Math.max(0, latest - now),
          latestExpiresAt: new Date(latest).toISOString(),
        },
      );
    }
    const previous = live.expiresAt;
    live.expiresAt = expiresAt;
    try {
      await this.#store.commit({
        sessions: [this.#recordOf(live)],
        events: [
          {
            type: 'session.extended',
            sessionId: id,
            commandId: null,
            data: {
              previousExpiresAt: new Date(previous).toISOString(),
              expiresAt: new Date(expiresAt).toISOString(),
            },
          },
        ],
      });
    } catch (error) {
      live.expiresAt = previous;
      throw error;
    }
    return live;
  }

  async reap(): Promise<number> {
    const at = this.#now();
    const due: Array<[ManagedSession, SessionEndCode]> = [];
    for (const session of this.#sessions.values()) {
      if (session.phase !== 'active') continue;
      if (at >= session.expiresAt) due.push([session, 'lifetime_expired']);
      else if (session.busy === 0 && at - session.lastActiveAt >= session.settings.idleTimeoutMs) {
        due.push([session, 'idle_timeout']);
      }
    }
    await Promise.allSettled(due.map(([session, reason]) => this.#end(session, reason)));
    return due.length;
  }

  async endAll(code: SessionEndCode, detail?: string): Promise<number> {
    const live = [...this.#sessions.values()];
    await Promise.allSettled(live.map((session) => this.#end(session, code, detail)));
    return live.length;
  }

  recover(sweepLeftovers: () => Promise<number>): Promise<RecoveryReport> {
    return recoverOrphans({ store: this.#store, owner: this.#options.owner, now: this.#now }, sweepLeftovers);
  }

  async snapshot(id: string, name: string | null = null): Promise<SnapshotInfo> {
    const session = await this.get(id);
    const done = this.beginWork(session);
    try {
      const info = await this.#options.snapshots.save(session.sandbox, {
        sessionId: id,
        name,
        settings: session.settings,
      });
      await this.#store.commit({
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
      done();
    }
  }

  touch(session: LiveSession): void {
    this.#own(session).lastActiveAt = this.#now();
  }

  beginWork(session: LiveSession): () => void {
    const state = this.#own(session);
    state.busy += 1;
    state.lastActiveAt = this.#now();
    let finished = false;
    return () => {
      if (finished) return;
      finished = true;
      state.busy -= 1;
      state.lastActiveAt = this.#now();
    };
  }

  setNetwork(session: LiveSession, network: SessionNetwork): void {
    const state = this.#own(session);
    state.network = network;
    // The next command is judged against the new list, as the proxy already enforces it.
    state.capabilities = this.#capabilitiesOf(state);
  }

  remember(session: LiveSession, keys: readonly string[]): void {
    const state = this.#own(session);
    for (const key of keys) state.remembered.add(key);
  }

  grant(session: LiveSession, grant: SessionGrant): void {
    const state = this.#own(session);
    switch (grant.scope) {
      case 'command':
        for (const key of grant.covers) state.remembered.add(key);
        return;
      case 'program':
        for (const program of grant.covers) state.grantedPrograms.add(program);
        return;
      case 'host':
        for (const host of grant.covers) state.grantedHosts.add(host);
        state.capabilities = this.#capabilitiesOf(state);
        return;
    }
  }

  addSecretFile(session: LiveSession, path: string, values: readonly SecretFileValue[]): void {
    const state = this.#own(session);
    const known = new Set(state.fileSecrets.map((secret) => secret.value));
    const fresh = values.filter((secret) => !known.has(secret.value));
    const room = MAX_SECRET_FILE_VALUES - state.fileSecrets.length;
    // Past the bound the file is still judged a secret by the policy; its values are no longer all
    // redacted by value (token formats still are). A session copying in that many is unusual.
    if (fresh.length > 0 && room > 0) state.fileSecrets = [...state.fileSecrets, ...fresh.slice(0, room)];
    if (!state.secretFiles.includes(path)) {
      state.secretFiles.push(path);
      state.capabilities = this.#capabilitiesOf(state);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#reapTimer);
    await Promise.allSettled([...this.#sessions.values()].map((session) => this.#end(session, 'shutdown')));
    await Promise.allSettled([...this.#ending.values()]);
  }

  #own(session: LiveSession): ManagedSession {
    const found = this.#managed.get(session);
    if (found === undefined) {
      throw new AirlockError('INTERNAL', `session ${session.id} is not this manager's`);
    }
    return found;
  }

  #capabilitiesOf(state: ManagedSession): LiveSession['capabilities'] {
    return this.#capabilities(state.settings, state.network, [...state.grantedHosts], state.secretFiles);
  }

  #capabilities(
    settings: LiveSession['settings'],
    network: SessionNetwork,
    grantedHosts: readonly string[],
    secretFiles: readonly string[],
  ): LiveSession['capabilities'] {
    return capabilitiesOf({
      driver: settings.driver,
      network,
      grantedHosts,
      secretEnvNames: settings.secretEnvNames,
      secretFiles,
      home: settings.sandbox.env['HOME'] ?? SANDBOX_HOME,
    });
  }

  #recordOf(session: LiveSession): SessionRecord {
    return recordOf(session, this.#options.owner, this.#now());
  }
}

/**
 * Makes the commands' HOME when it is in the scratch (the default): a directory that does not exist
 * would make every tool that keeps a cache or a configuration file there fail. The file written is the
 * one a fresh home has anyway.
 */
async function makeHome(sandbox: LiveSession['sandbox'], home: string | undefined): Promise<void> {
  if (home !== SANDBOX_HOME) return;
  await sandbox.writeFile(
    `${SANDBOX_HOME}/.profile`,
    '# HOME of this Airlock sandbox, in /tmp: caches and tool settings stay out of /workspace.\n',
    { createParents: true },
  );
}

/** The settings with what the attachment adds to the sandbox: its variables and its way out. */
function withAttachment(
  settings: SessionSettings,
  attachment: SessionAttachment | undefined,
): SessionSettings {
  if (attachment === undefined) return settings;
  const sandbox = validateSpec(
    {
      ...settings.sandbox,
      env: { ...settings.sandbox.env, ...attachment.env },
      ...(attachment.egress === undefined ? {} : { egress: attachment.egress }),
    },
    { allowImageReference: settings.driver === 'docker' },
  );
  return { ...settings, sandbox };
}

/** The audit record of how a sandbox isolates: plain JSON (interfaces are not index-signed). */
function isolationRecord(info: SandboxInfo): JsonObject {
  const { processes, ...rest } = info;
  return { ...rest, ...(processes === undefined ? {} : { processes: { ...processes } }) };
}
