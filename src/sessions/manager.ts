/**
 * Session lifecycle: create a sandbox per session, find it again, end it (on request, when idle, at
 * the end of its lifetime, when its sandbox dies) and, after a crash, close what the previous control
 * plane left open. Every transition is recorded in the store before it is reported done.
 */
import { randomBytes } from 'node:crypto';
import { AirlockError } from '../errors/index.ts';
import type { Sandbox } from '../sandbox/index.ts';
import type { SessionRecord, Store } from '../store/index.ts';
import type { SessionManager, SessionManagerOptions } from './manager-api.ts';
import { recoverOrphans } from './recovery.ts';
import type { RecoveryReport } from './recovery.ts';
import { sessionEndedError } from './session-ended.ts';
import { recordOf } from './session-record.ts';
import { isolationRecord, makeHome, withAttachment } from './session-start.ts';
import {
  addSecretFileTo,
  beginWorkOn,
  capabilitiesOfState,
  extendedExpiry,
  grantTo,
  setEgressHostsOf,
  setNetworkOf,
} from './session-state.ts';
import type { ManagedSession } from './session-state.ts';
import { settingsFor } from './settings.ts';
import type {
  LiveSession,
  SecretFileValue,
  SessionAttachment,
  SessionCreateOptions,
  SessionNetwork,
  SessionSettings,
  SessionEndCode,
  SessionGrant,
  SnapshotInfo,
} from './types.ts';
import { NO_NETWORK, sessionEndReasons } from './types.ts';

const SESSION_ID = /^ses_[0-9a-f]{24}$/;

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
      capabilities: capabilitiesOfState({
        settings,
        network: attachment?.network ?? NO_NETWORK,
        grantedHosts: new Set(),
        egressHosts: [],
        secretFiles: [],
      }),
      createdAt,
      expiresAt: createdAt + settings.ttlMs,
      lastActiveAt: createdAt,
      busy: 0,
      phase: 'active',
      endCode: null,
      remembered: new Set(),
      grantedPrograms: new Set(),
      grantedHosts: new Set(),
      egressHosts: [],
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
    throw await sessionEndedError(this.#store, record);
  }

  live(): LiveSession[] {
    return [...this.#sessions.values()];
  }

  isLive(id: string): boolean {
    return this.#sessions.has(id);
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
    const expiresAt = extendedExpiry(live, expiresInMs, this.#now(), this.#options.defaults.maxTtlMs);
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
    return beginWorkOn(this.#own(session), this.#now);
  }

  setNetwork(session: LiveSession, network: SessionNetwork): void {
    setNetworkOf(this.#own(session), network);
  }

  remember(session: LiveSession, keys: readonly string[]): void {
    const state = this.#own(session);
    for (const key of keys) state.remembered.add(key);
  }

  async grant(session: LiveSession, grant: SessionGrant, command?: string): Promise<void> {
    grantTo(this.#own(session), grant);
    if (grant.scope === 'host') await this.#attachments.get(session.id)?.grantHosts?.(grant.covers, command);
  }

  setEgressGrants(sessionId: string, hosts: readonly string[]): void {
    const state = this.#sessions.get(sessionId);
    if (state !== undefined) setEgressHostsOf(state, hosts);
  }

  addSecretFile(session: LiveSession, path: string, values: readonly SecretFileValue[]): void {
    addSecretFileTo(this.#own(session), path, values);
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

  #recordOf(session: LiveSession): SessionRecord {
    return recordOf(session, this.#options.owner, this.#now());
  }
}
