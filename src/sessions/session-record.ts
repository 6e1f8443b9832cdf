/** A live session as the store records it. */
import type { JsonObject, SessionRecord } from '../store/index.ts';
import type { LiveSession } from './types.ts';
import { sessionEndReasons } from './types.ts';

export function recordOf(session: LiveSession, owner: string, nowMs: number): SessionRecord {
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
    // As created; a live change is its own audit event. Secret names and hosts, never values.
    network: {
      mode: session.network.mode,
      allow: [...session.network.allow],
      hosts: { ...session.network.hosts },
      secrets: session.network.secrets.map((secret) => ({ name: secret.name, hosts: [...secret.hosts] })),
    },
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
    endedAt: session.phase === 'ended' ? iso(nowMs) : null,
    endReason: session.endCode === null ? null : sessionEndReasons[session.endCode],
  };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
